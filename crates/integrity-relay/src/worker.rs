//! The relay worker: claims due deliveries, sends each to its call center
//! over the Open Positive Response API, records what the center said.
//! It never holds a database transaction while waiting on the network.

use std::future::Future;
use std::time::Duration;

use integrity_domain::relay::RelayMode;
use integrity_domain::time::now_millis;
use integrity_store::relay::{Delivery, DeliveryOutcome};
use integrity_store::{Store, StoreError};
use rand::Rng;
use reqwest::header::{HeaderMap, AUTHORIZATION, RETRY_AFTER};
use reqwest::StatusCode;
use tokio::task::JoinSet;

/// When to try again after a failure that may pass.
#[derive(Debug, Clone)]
pub struct RetrySchedule {
    /// Delay after the first failed attempt; doubled after each further one.
    pub first: Duration,
    /// The longest delay between two attempts.
    pub max: Duration,
    /// Bounds on a center's `Retry-After`.
    pub retry_after_min: Duration,
    pub retry_after_max: Duration,
    /// A delivery not done this long after it was queued fails for good.
    pub give_up_after: Duration,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        RetrySchedule {
            first: Duration::from_secs(2),
            max: Duration::from_secs(3600),
            retry_after_min: Duration::from_secs(1),
            retry_after_max: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(24 * 3600),
        }
    }
}

impl RetrySchedule {
    /// The delay before the next attempt after `attempts` failed ones:
    /// exponential with "equal jitter" (between half and all of it), so
    /// that deliveries failed together do not return together.
    pub fn delay(&self, attempts: i64) -> Duration {
        let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let full = self.first.saturating_mul(1u32 << exponent).min(self.max);
        let half = full / 2;
        half + full
            .saturating_sub(half)
            .mul_f64(rand::thread_rng().gen::<f64>())
    }

    /// A center's `Retry-After` (seconds), kept within bounds.
    fn honour(&self, retry_after: Duration) -> Duration {
        retry_after.clamp(self.retry_after_min, self.retry_after_max)
    }
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Names this worker's leases; unique per process.
    pub worker_id: String,
    /// How long to wait for more work when the queue is empty.
    pub poll_interval: Duration,
    /// How long a claimed delivery stays with this worker; after that another
    /// worker may take it over (this one having died, say).
    pub lease: Duration,
    /// Deliveries claimed (and sent concurrently) at a time.
    pub batch: i64,
    pub request_timeout: Duration,
    pub schedule: RetrySchedule,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            worker_id: format!("{}-{:08x}", std::process::id(), rand::random::<u32>()),
            poll_interval: Duration::from_millis(200),
            lease: Duration::from_secs(60),
            batch: 32,
            request_timeout: Duration::from_secs(15),
            schedule: RetrySchedule::default(),
        }
    }
}

#[derive(Clone)]
pub struct Worker {
    store: Store,
    client: reqwest::Client,
    config: WorkerConfig,
}

impl Worker {
    pub fn new(store: Store, config: WorkerConfig) -> Result<Worker, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("integrity/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Worker {
            store,
            client,
            config,
        })
    }

    /// Claims one batch and delivers it; returns how many deliveries were
    /// handled (0: nothing was due).
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let lease = i64::try_from(self.config.lease.as_millis()).unwrap_or(i64::MAX);
        let claimed = self
            .store
            .claim_deliveries(&self.config.worker_id, self.config.batch, lease)
            .await?;
        let count = claimed.len();
        metrics::counter!("integrity_relay_attempts_total").increment(count as u64);
        let mut sending = JoinSet::new();
        for group in group_for_sending(claimed) {
            let worker = self.clone();
            sending.spawn(async move {
                let outcomes = match group.as_slice() {
                    [single] if single.settings.mode == RelayMode::Single => {
                        vec![worker.attempt(single).await]
                    }
                    batch => worker.attempt_batch(batch).await,
                };
                for (delivery, outcome) in group.iter().zip(outcomes) {
                    worker.record(delivery, outcome).await?;
                }
                Ok::<(), StoreError>(())
            });
        }
        while let Some(done) = sending.join_next().await {
            match done {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(panic) => tracing::error!(%panic, "a delivery task failed"),
            }
        }
        Ok(count)
    }

    /// Delivers until `shutdown` completes; the deliveries under way when it
    /// does are finished first.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let idle = match self.run_once().await {
                Ok(0) => true,
                Ok(_) => false,
                Err(e) => {
                    tracing::warn!(error = %e, "relay: could not reach the database");
                    true
                }
            };
            if idle {
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(self.config.poll_interval) => {}
                }
            } else if futures_ready(&mut shutdown).await {
                break;
            }
        }
        tracing::info!("relay worker stopped");
    }

    async fn attempt(&self, delivery: &Delivery) -> DeliveryOutcome {
        let Some(base) = delivery
            .settings
            .url
            .as_deref()
            .filter(|_| delivery.settings.enabled)
        else {
            return DeliveryOutcome::Failed {
                messages: vec!["the call center's relay is disabled or has no url".into()],
            };
        };
        let url = format!("{}/response", base.trim_end_matches('/'));
        let mut request = self.client.post(&url).json(&delivery.payload);
        if let Some(authorization) = &delivery.settings.authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.text().await.unwrap_or_default();
                self.classify(delivery, status, &headers, &body)
            }
            Err(e) => self.retry(delivery, format!("{url}: {}", error_chain(&e)), None),
        }
    }

    /// Sends deliveries of one call center in one `POST …/response/batch`
    /// and reads the per-entry results, in order.
    async fn attempt_batch(&self, batch: &[Delivery]) -> Vec<DeliveryOutcome> {
        let first = &batch[0];
        let Some(base) = first
            .settings
            .url
            .as_deref()
            .filter(|_| first.settings.enabled)
        else {
            let refusal = DeliveryOutcome::Failed {
                messages: vec!["the call center's relay is disabled or has no url".into()],
            };
            return vec![refusal; batch.len()];
        };
        let url = format!("{}/response/batch", base.trim_end_matches('/'));
        let entries: Vec<serde_json::Value> = batch
            .iter()
            .map(|d| {
                // The batch API names the same fields differently.
                let p = &d.payload;
                let mut entry = serde_json::json!({
                    "ticket": p.ticket_number, "code": p.member_code, "facilities": p.facility_list,
                    "action": p.action, "session": p.session,
                });
                if let Some(comment) = &p.comment {
                    entry["comment"] = comment.clone().into();
                }
                entry
            })
            .collect();
        let mut request = self
            .client
            .post(&url)
            .json(&serde_json::json!({ "responses": entries }));
        if let Some(authorization) = &first.settings.authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status();
                let headers = response.headers().clone();
                (status, headers, response.text().await.unwrap_or_default())
            }
            Err(e) => {
                let error = format!("{url}: {}", error_chain(&e));
                return batch
                    .iter()
                    .map(|d| self.retry(d, error.clone(), None))
                    .collect();
            }
        };
        let (status, headers, body) = answer;
        let results: Vec<serde_json::Value> = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("responses").and_then(|r| r.as_array()).cloned())
            .unwrap_or_default();
        if !matches!(status.as_u16(), 200 | 207) || results.len() != batch.len() {
            // Not a per-entry answer: the whole batch shares its fate.
            return batch
                .iter()
                .map(|d| self.classify(d, status, &headers, &body))
                .collect();
        }
        results
            .iter()
            .map(|result| {
                let messages: Vec<String> = result
                    .get("messageList")
                    .cloned()
                    .and_then(|m| serde_json::from_value(m).ok())
                    .unwrap_or_default();
                match result.get("result").and_then(|r| r.as_str()) {
                    Some("accepted" | "duplicate") => DeliveryOutcome::Sent { messages },
                    Some(other) => DeliveryOutcome::Failed {
                        messages: if messages.is_empty() {
                            vec![other.to_string()]
                        } else {
                            messages
                        },
                    },
                    None => DeliveryOutcome::Failed {
                        messages: vec!["the center gave no result for this response".into()],
                    },
                }
            })
            .collect()
    }

    /// Reads a center's answer per the standard.
    fn classify(
        &self,
        delivery: &Delivery,
        status: StatusCode,
        headers: &HeaderMap,
        body: &str,
    ) -> DeliveryOutcome {
        let messages = message_list(body);
        match status.as_u16() {
            201 | 202 => DeliveryOutcome::Sent { messages },
            // A duplicate means the center already holds this response: the
            // acknowledgement of an earlier attempt was lost.
            409 if messages
                .iter()
                .any(|m| m.to_lowercase().contains("duplicate")) =>
            {
                DeliveryOutcome::Sent { messages }
            }
            408 | 429 | 500..=599 => {
                let retry_after = headers
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                self.retry(
                    delivery,
                    format!("HTTP {status}: {}", summary(&messages, body)),
                    retry_after,
                )
            }
            _ => DeliveryOutcome::Failed {
                messages: if messages.is_empty() {
                    vec![format!("HTTP {status}: {}", truncate(body, 300))]
                } else {
                    messages
                },
            },
        }
    }

    fn retry(
        &self,
        delivery: &Delivery,
        error: String,
        retry_after: Option<Duration>,
    ) -> DeliveryOutcome {
        let schedule = &self.config.schedule;
        let delay =
            retry_after.map_or_else(|| schedule.delay(delivery.attempts), |d| schedule.honour(d));
        DeliveryOutcome::Retry {
            error,
            at: now_millis() + millis(delay),
        }
    }

    async fn record(
        &self,
        delivery: &Delivery,
        outcome: DeliveryOutcome,
    ) -> Result<(), StoreError> {
        let give_up_at = delivery.created_at + millis(self.config.schedule.give_up_after);
        tracing::debug!(delivery = delivery.id, ?outcome, "relay attempt");
        let label = match &outcome {
            DeliveryOutcome::Sent { .. } => {
                let waited = now_millis().saturating_sub(delivery.created_at).max(0);
                metrics::histogram!("integrity_relay_delivery_seconds")
                    .record(waited as f64 / 1000.0);
                "sent"
            }
            DeliveryOutcome::Failed { .. } => "failed",
            DeliveryOutcome::Retry { .. } => "retry",
        };
        metrics::counter!("integrity_relay_outcomes_total", "outcome" => label).increment(1);
        let held = self
            .store
            .finish_delivery(delivery, &self.config.worker_id, outcome, give_up_at)
            .await?;
        if !held {
            tracing::warn!(
                delivery = delivery.id,
                "relay: lease lost before the outcome was recorded"
            );
        }
        Ok(())
    }
}

/// Deliveries to send together: each single-mode delivery alone, those of
/// a batch-mode call center together.
fn group_for_sending(claimed: Vec<Delivery>) -> Vec<Vec<Delivery>> {
    let mut groups: Vec<Vec<Delivery>> = Vec::new();
    for delivery in claimed {
        let joins = groups.iter_mut().find(|g| {
            delivery.settings.mode == RelayMode::Batch
                && g[0].settings.mode == RelayMode::Batch
                && (g[0].account, g[0].call_center_id)
                    == (delivery.account, delivery.call_center_id)
        });
        match joins {
            Some(group) => group.push(delivery),
            None => groups.push(vec![delivery]),
        }
    }
    groups
}

/// Whether `shutdown` has completed, without waiting for it.
async fn futures_ready(shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>) -> bool {
    tokio::select! {
        biased;
        () = shutdown.as_mut() => true,
        () = std::future::ready(()) => false,
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The standard's `messageList`, when the body has one.
fn message_list(body: &str) -> Vec<String> {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("messageList").cloned())
        .and_then(|list| serde_json::from_value(list).ok())
        .unwrap_or_default()
}

fn summary(messages: &[String], body: &str) -> String {
    if messages.is_empty() {
        truncate(body, 300)
    } else {
        messages.join("; ")
    }
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// An error with its causes: reqwest's own message omits "connection
/// refused" and the like.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_with_jitter_up_to_the_cap() {
        let schedule = RetrySchedule::default();
        for attempts in 1..=40 {
            let full = schedule
                .first
                .saturating_mul(1 << (attempts - 1).min(30))
                .min(schedule.max);
            let delay = schedule.delay(attempts as i64);
            assert!(
                delay >= full / 2 && delay <= full,
                "{attempts}: {delay:?} vs {full:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_bounded() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.honour(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(
            schedule.honour(Duration::from_secs(86_400)),
            Duration::from_secs(3600)
        );
        assert_eq!(
            schedule.honour(Duration::from_secs(30)),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn reads_the_message_list() {
        assert_eq!(
            message_list(r#"{"status":"invalid","messageList":["a","b"]}"#),
            ["a", "b"]
        );
        assert!(message_list("oops").is_empty());
    }
}
