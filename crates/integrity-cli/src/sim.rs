//! `integrity call-center-sim`: a call center's side of the Open Positive
//! Response API on this machine, to watch responses go out.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context;
use integrity_relay::simulator::{Simulator, SimulatorConfig};

#[derive(clap::Args)]
pub struct SimArgs {
    #[arg(long, default_value = "127.0.0.1:3811")]
    listen: SocketAddr,
    /// Fraction of requests answered 503 (0.0 to 1.0).
    #[arg(long, default_value_t = 0.0)]
    fail_rate: f64,
    /// Delay before each answer.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Answer 503 to everything for this long after start.
    #[arg(long, default_value_t = 0)]
    down_for_secs: u64,
    /// A member code the center knows (repeat); none given: all are known.
    #[arg(long = "member")]
    members: Vec<String>,
    /// The Authorization header value requests must carry.
    #[arg(long)]
    authorization: Option<String>,
}

pub async fn run(args: SimArgs) -> anyhow::Result<ExitCode> {
    if !(0.0..=1.0).contains(&args.fail_rate) {
        anyhow::bail!("--fail-rate must be between 0.0 and 1.0");
    }
    let simulator = Simulator::new(SimulatorConfig {
        fail_rate: args.fail_rate,
        latency_ms: args.latency_ms,
        down_for_secs: args.down_for_secs,
        members: (!args.members.is_empty()).then_some(args.members),
        actions: None,
        authorization: args.authorization,
    });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    println!(
        "call-center simulator on http://{}: POST /response, POST /response/batch; GET /responses shows what it accepted",
        listener.local_addr()?
    );
    tokio::select! {
        served = simulator.serve(listener) => served?,
        () = crate::shutdown::signal() => {}
    }
    Ok(ExitCode::SUCCESS)
}
