//! The EFLOW guest agent: the daemon inside the guest that the Windows host talks to (over
//! Hyper-V sockets / vsock, or a virtio-serial port under QEMU), the host-side client, and the
//! IoT Edge config.toml renderer the image build shares.
//!
//! The protocol is documented in README.md; its types are in [`protocol`].

pub mod client;
pub mod exec;
pub mod fsops;
pub mod handler;
pub mod lines;
pub mod protocol;
pub mod provisioning;
pub mod server;
pub mod system;
pub mod vsock;

pub use client::{Client, ClientError, ExecOutput};
pub use handler::Agent;
pub use protocol::{ProvisionParams, Request, Response, StatusReport};
pub use provisioning::{
    provision_params_from_file, render_config, render_config_with, Provisioning, ProvisioningError,
    RenderOptions, Secret,
};
