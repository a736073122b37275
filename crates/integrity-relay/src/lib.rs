//! Positive responses on their way to the call center: the worker that
//! drains the outbox over the Open Positive Response API, and a simulator
//! of a call center's side of that API for tests and demos.

pub mod simulator;
pub mod worker;

pub use worker::{RetrySchedule, Worker, WorkerConfig};
