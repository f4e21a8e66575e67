//! p2pd library. The program is built in later issues; for now the package
//! exists so the workspace has its final shape and dependency rules.
