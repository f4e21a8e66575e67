//! `p2pd service install|uninstall|start|stop|run`: the Windows service,
//! through the `windows-service` crate. `run` is what the service manager
//! starts: it reports Running, runs the same daemon as the console p2pd
//! (with the configuration path given at install), and turns the manager's
//! Stop into the daemon's shutdown token. The daemon logs to its log file
//! in the state folder (a service has no console).
//!
//! Must not decide anything about the daemon itself: it gets it as a
//! closure from `main.rs`.

use std::ffi::OsString;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use windows_service::service::{
    ServiceAccess, ServiceControl, ServiceControlAccept, ServiceErrorControl, ServiceExitCode,
    ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};

use crate::cli::ServiceAction;

/// The daemon to run as the service, until the token is cancelled.
pub type Daemon = Box<dyn FnOnce(CancellationToken) -> anyhow::Result<()> + Send>;

/// The service's name for `sc` and the service manager.
const SERVICE_NAME: &str = "p2pd";
const DISPLAY_NAME: &str = "p2p daemon (p2pd)";
const DESCRIPTION: &str =
    "Shares what lands in its watched folder, downloads what p2pctl asks for, and seeds.";
/// Exit code reported when the daemon failed (its error is in the log).
const DAEMON_FAILED: u32 = 1;

/// The daemon handed from `main` to the service main, which the service
/// dispatcher calls with no way to pass it along.
static DAEMON: Mutex<Option<Daemon>> = Mutex::new(None);

define_windows_service!(ffi_service_main, service_main);

/// Does `action`; `config` is recorded by `install` for the service to use.
pub fn run(action: ServiceAction, config: Option<&Path>, daemon: Daemon) -> anyhow::Result<()> {
    match action {
        ServiceAction::Install => install(config),
        ServiceAction::Uninstall => uninstall(),
        ServiceAction::Start => {
            let service = open(ServiceAccess::START)?;
            service
                .start::<&str>(&[])
                .context("cannot start the p2pd service")?;
            println!("p2pd service starting");
            Ok(())
        }
        ServiceAction::Stop => {
            let service = open(ServiceAccess::STOP)?;
            service.stop().context("cannot stop the p2pd service")?;
            println!("p2pd service stopping");
            Ok(())
        }
        ServiceAction::Run => {
            *DAEMON.lock().unwrap_or_else(|e| e.into_inner()) = Some(daemon);
            service_dispatcher::start(SERVICE_NAME, ffi_service_main).context(
                "cannot reach the service manager (`p2pd service run` is started by it, not from a console)",
            )
        }
    }
}

fn manager(access: ServiceManagerAccess) -> anyhow::Result<ServiceManager> {
    ServiceManager::local_computer(None::<&str>, access)
        .context("cannot open the service manager (run from an elevated prompt)")
}

fn open(access: ServiceAccess) -> anyhow::Result<windows_service::service::Service> {
    manager(ServiceManagerAccess::CONNECT)?
        .open_service(SERVICE_NAME, access)
        .context("cannot open the p2pd service (is it installed?)")
}

fn install(config: Option<&Path>) -> anyhow::Result<()> {
    let executable_path = std::env::current_exe().context("cannot find p2pd.exe's own path")?;
    let mut launch_arguments: Vec<OsString> = Vec::new();
    if let Some(config) = config {
        let config = std::path::absolute(config)
            .with_context(|| format!("cannot make {} absolute", config.display()))?;
        launch_arguments.push("--config".into());
        launch_arguments.push(config.into_os_string());
    }
    launch_arguments.extend(["service".into(), "run".into()]);
    let info = ServiceInfo {
        name: SERVICE_NAME.into(),
        display_name: DISPLAY_NAME.into(),
        service_type: ServiceType::OWN_PROCESS,
        // Nothing starts without being asked: `sc config p2pd start= auto`
        // makes it start at boot.
        start_type: ServiceStartType::OnDemand,
        error_control: ServiceErrorControl::Normal,
        executable_path,
        launch_arguments,
        dependencies: vec![],
        account_name: None, // LocalSystem
        account_password: None,
    };
    let manager = manager(ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE)?;
    let service = manager
        .create_service(&info, ServiceAccess::CHANGE_CONFIG)
        .context("cannot install the p2pd service")?;
    service
        .set_description(DESCRIPTION)
        .context("cannot describe the p2pd service")?;
    println!("p2pd service installed (manual start: `p2pd service start`)");
    Ok(())
}

fn uninstall() -> anyhow::Result<()> {
    let service = open(ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE)?;
    let status = service
        .query_status()
        .context("cannot query the p2pd service")?;
    if status.current_state != ServiceState::Stopped {
        service.stop().context("cannot stop the p2pd service")?;
    }
    // Removed for good once the last handle to it closes.
    service.delete().context("cannot remove the p2pd service")?;
    println!("p2pd service removed");
    Ok(())
}

fn service_main(_arguments: Vec<OsString>) {
    let Some(daemon) = DAEMON.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return;
    };
    if let Err(e) = serve(daemon) {
        tracing::error!("p2pd service: {e:#}");
    }
}

fn status(state: ServiceState, accept: ServiceControlAccept, exit: u32) -> ServiceStatus {
    ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: accept,
        exit_code: if exit == 0 {
            ServiceExitCode::Win32(0)
        } else {
            ServiceExitCode::ServiceSpecific(exit)
        },
        checkpoint: 0,
        wait_hint: Duration::ZERO,
        process_id: None,
    }
}

/// Registers for Stop and Shutdown, says Running, runs the daemon, says
/// Stopped with its outcome.
fn serve(daemon: Daemon) -> anyhow::Result<()> {
    let cancel = CancellationToken::new();
    let on_stop = cancel.clone();
    let handle = service_control_handler::register(SERVICE_NAME, move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            on_stop.cancel();
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    })
    .context("cannot register with the service manager")?;
    handle
        .set_service_status(status(
            ServiceState::Running,
            ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN,
            0,
        ))
        .context("cannot report Running")?;
    let outcome = daemon(cancel);
    if let Err(e) = &outcome {
        tracing::error!("p2pd: {e:#}");
    }
    let exit = if outcome.is_ok() { 0 } else { DAEMON_FAILED };
    handle
        .set_service_status(status(
            ServiceState::Stopped,
            ServiceControlAccept::empty(),
            exit,
        ))
        .context("cannot report Stopped")?;
    outcome
}
