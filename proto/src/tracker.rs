//! HTTP tracker protocol (BEP 3, 7, 23, 48): announce and scrape requests and
//! responses, with binary-safe percent coding. Sans-io.
