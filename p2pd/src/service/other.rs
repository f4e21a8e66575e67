//! `p2pd service ...` off Windows: there is no Windows service manager
//! here, so every action is a clear error that names what to use instead.

use std::path::Path;

use crate::cli::ServiceAction;

/// The daemon to run as the service, until the token is cancelled.
pub type Daemon = Box<dyn FnOnce(tokio_util::sync::CancellationToken) -> anyhow::Result<()> + Send>;

/// Always fails: services are Windows only.
pub fn run(action: ServiceAction, _config: Option<&Path>, _daemon: Daemon) -> anyhow::Result<()> {
    let _ = action;
    anyhow::bail!(
        "`p2pd service` manages the Windows service and exists only on Windows; \
         here run p2pd under systemd (p2pd.service), in the foreground, or with --daemon"
    )
}
