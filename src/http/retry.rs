//! Retries: one policy and one loop, used by every request of the pipeline (metadata,
//! lists, downloads' first request, Keystone token requests).

use std::time::Duration;

use crate::error::{Error, Result};

/// How failed idempotent requests are retried.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// Delay before the first retry; doubles each time, with full jitter.
    pub base_delay: Duration,
    /// Upper bound of one delay, and of a server's `Retry-After` that is honoured.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    ///
    /// ```
    /// assert_eq!(openstack_images::RetryPolicy::none().max_retries, 0);
    /// ```
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Sets the number of retries.
    ///
    /// ```
    /// let p = openstack_images::RetryPolicy::default().max_retries(2);
    /// assert_eq!(p.max_retries, 2);
    /// ```
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Sets the first delay (it doubles on every retry).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let p = openstack_images::RetryPolicy::default().base_delay(Duration::from_millis(10));
    /// assert_eq!(p.base_delay, Duration::from_millis(10));
    /// ```
    pub fn base_delay(mut self, d: Duration) -> Self {
        self.base_delay = d;
        self
    }

    /// Sets the longest single delay.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let p = openstack_images::RetryPolicy::default().max_delay(Duration::from_secs(1));
    /// assert_eq!(p.max_delay, Duration::from_secs(1));
    /// ```
    pub fn max_delay(mut self, d: Duration) -> Self {
        self.max_delay = d;
        self
    }

    /// The delay before retry number `attempt` (1-based): exponential with full jitter, or
    /// the server's `Retry-After` when it gave one, capped at `max_delay`.
    pub(crate) fn delay(&self, attempt: u32, retry_after: Option<u64>) -> Duration {
        if let Some(secs) = retry_after {
            return Duration::from_secs(secs).min(self.max_delay);
        }
        let exp = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = exp.min(self.max_delay);
        cap.mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

/// The retry state of one request: after each failed attempt, [`Retries::after`] either
/// waits (as the policy says, honouring a server's `Retry-After`) and lets the caller try
/// again, or gives the error back as final. `retryable` is false for requests that must not
/// be repeated (not idempotent, or with a streamed body).
pub(crate) struct Retries<'a> {
    policy: &'a RetryPolicy,
    retryable: bool,
    done: u32,
}

impl<'a> Retries<'a> {
    pub(crate) fn new(policy: &'a RetryPolicy, retryable: bool) -> Self {
        Retries {
            policy,
            retryable,
            done: 0,
        }
    }

    /// `Ok` after the wait when `err` may pass on another attempt; `Err(err)` when final.
    pub(crate) async fn after(&mut self, err: Error, what: &str) -> Result<()> {
        if !self.retryable || !err.is_retryable() || self.done >= self.policy.max_retries {
            return Err(err);
        }
        self.done += 1;
        let retry_after = match &err {
            Error::Api(a) => a.retry_after,
            _ => None,
        };
        let delay = self.policy.delay(self.done, retry_after);
        tracing::warn!(request = %what, attempt = self.done, delay_ms = delay.as_millis() as u64, error = %err, "retrying");
        tokio::time::sleep(delay).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(1));
        for attempt in 1..10 {
            let d = p.delay(attempt, None);
            let cap = Duration::from_millis(100 * (1 << (attempt - 1))).min(Duration::from_secs(1));
            assert!(
                d <= cap && d >= cap / 2,
                "attempt {attempt}: {d:?} vs {cap:?}"
            );
        }
        assert_eq!(p.delay(1, Some(60)), Duration::from_secs(1));
        assert_eq!(p.delay(1, Some(0)), Duration::ZERO);
    }

    fn status_error(status: u16) -> Error {
        Error::Api(Box::new(ApiError {
            status,
            method: "GET".into(),
            url: "http://x".into(),
            request_id: None,
            message: String::new(),
            title: None,
            retry_after: Some(0),
            hint: None,
        }))
    }

    /// Runs `attempt` the way the pipeline does; returns its result and the attempt count.
    async fn run<T>(
        policy: &RetryPolicy,
        retryable: bool,
        mut attempt: impl FnMut(u32) -> Result<T>,
    ) -> (Result<T>, u32) {
        let mut retries = Retries::new(policy, retryable);
        let mut calls = 0;
        loop {
            calls += 1;
            match attempt(calls) {
                Ok(v) => return (Ok(v), calls),
                Err(e) => {
                    if let Err(e) = retries.after(e, "GET x").await {
                        return (Err(e), calls);
                    }
                }
            }
        }
    }

    #[tokio::test]
    async fn retries_what_may_pass_and_stops_at_the_budget() {
        let policy = RetryPolicy::default()
            .max_retries(3)
            .base_delay(Duration::from_millis(1));
        let (r, calls) = run(&policy, true, |_| Err::<(), _>(status_error(503))).await;
        assert_eq!(r.unwrap_err().status(), Some(503));
        assert_eq!(calls, 4, "one attempt and three retries");
        let (r, calls) = run(&policy, true, |n| {
            if n < 3 { Err(status_error(429)) } else { Ok(n) }
        })
        .await;
        assert_eq!((r.unwrap(), calls), (3, 3));
    }

    #[tokio::test]
    async fn never_retries_the_unrepeatable_or_the_final() {
        let policy = RetryPolicy::default().base_delay(Duration::from_millis(1));
        let (r, calls) = run(&policy, false, |_| Err::<(), _>(status_error(503))).await;
        assert!(r.is_err());
        assert_eq!(calls, 1, "not retryable: one attempt");
        let (r, calls) = run(&policy, true, |_| Err::<(), _>(status_error(404))).await;
        assert_eq!(r.unwrap_err().status(), Some(404));
        assert_eq!(calls, 1, "a 404 is final");
    }
}
