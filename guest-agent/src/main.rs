//! `eflow-guest-agent`: the guest agent daemon (see README.md).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use eflow_guest_agent::handler::Agent;
use eflow_guest_agent::server::{self, log};
use eflow_guest_agent::system::SystemCommands;
use eflow_guest_agent::vsock::{VsockError, VsockListener};

const USAGE: &str = "\
usage: eflow-guest-agent [--vsock-port N] [--serial PATH] [--stdio]
                         [--root DIR] [--systemctl PATH] [--iotedge PATH]

Serves the EFLOW guest agent protocol (JSON lines, v1) to the host.
  --vsock-port N   listen on AF_VSOCK port N (Hyper-V sockets)
  --serial PATH    serve a virtio-serial port (QEMU), e.g. /dev/virtio-ports/org.eflow.agent
  --stdio          serve stdin/stdout (tests, socket activation)
  --root DIR       treat DIR as the guest's / for file requests (testing only; not a sandbox)
  --systemctl PATH, --iotedge PATH   the programs to call (testing)
At least one transport is required; vsock and serial may be combined.";

struct Opts {
    vsock_port: Option<u32>,
    serial: Option<PathBuf>,
    stdio: bool,
    root: PathBuf,
    commands: SystemCommands,
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        vsock_port: None,
        serial: None,
        stdio: false,
        root: PathBuf::from("/"),
        commands: SystemCommands::default(),
    };
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        let a = a.to_string_lossy().into_owned();
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--vsock-port" => {
                let v = value("--vsock-port")?;
                o.vsock_port = Some(
                    v.to_string_lossy()
                        .parse()
                        .map_err(|_| format!("--vsock-port: {v:?} is not a port number"))?,
                );
            }
            "--serial" => o.serial = Some(value("--serial")?.into()),
            "--stdio" => o.stdio = true,
            "--root" => o.root = value("--root")?.into(),
            "--systemctl" => o.commands.systemctl = value("--systemctl")?.into(),
            "--iotedge" => o.commands.iotedge = value("--iotedge")?.into(),
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            "--version" | "-V" => {
                println!("eflow-guest-agent {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if o.vsock_port.is_none() && o.serial.is_none() && !o.stdio {
        return Err("give a transport: --vsock-port, --serial or --stdio".into());
    }
    if o.stdio && (o.vsock_port.is_some() || o.serial.is_some()) {
        return Err("--stdio cannot be combined with other transports".into());
    }
    Ok(o)
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("eflow-guest-agent: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let agent = Agent::new(opts.root, Arc::new(opts.commands));
    if opts.stdio {
        log("serving stdin/stdout (protocol v1)");
        server::notify_ready();
        let result = server::serve(
            &agent,
            &mut std::io::stdin().lock(),
            &mut std::io::stdout().lock(),
            "stdio",
        );
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                log(&format!("stdio: {e}"));
                ExitCode::FAILURE
            }
        };
    }
    let mut threads = Vec::new();
    if let Some(port) = opts.vsock_port {
        match VsockListener::bind(port) {
            Ok(l) => {
                log(&format!("listening on vsock port {port} (protocol v1)"));
                let agent = agent.clone();
                threads.push(std::thread::spawn(move || {
                    if let Err(e) = server::serve_vsock(agent, l) {
                        log(&format!("vsock: {e}"));
                    }
                }));
            }
            // Without a serial port to fall back on, this is fatal; with one (a QEMU guest
            // without vhost-vsock) the agent carries on.
            Err(e @ (VsockError::Unavailable(_) | VsockError::Bind { .. }))
                if opts.serial.is_some() =>
            {
                log(&format!("vsock disabled: {e}"));
            }
            Err(e) => {
                log(&format!("{e}"));
                return ExitCode::FAILURE;
            }
        }
    }
    if let Some(path) = opts.serial {
        let agent = agent.clone();
        threads.push(std::thread::spawn(move || {
            server::serve_serial(agent, path)
        }));
    }
    server::notify_ready();
    // The one line a boot test watches for on the console (the unit sends stderr there too).
    log(&format!(
        "eflow-guest-agent: ready (protocol v{})",
        eflow_guest_agent::protocol::PROTOCOL_VERSION
    ));
    for t in threads {
        let _ = t.join();
    }
    ExitCode::FAILURE
}
