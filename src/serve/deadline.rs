//! The per-query time limit: one watchdog thread that cancels each query's
//! [`CancellationToken`] when its deadline passes.
//!
//! oxigraph checks the token while it evaluates (between solutions, inside joins, sorts and
//! aggregates), so a cancelled query stops using the CPU and its iterator yields
//! `QueryEvaluationError::Cancelled`. A query that ends in time unregisters itself (the
//! [`Watch`] guard's drop); nothing is cancelled after the fact.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use oxigraph::sparql::CancellationToken;

#[derive(Default)]
struct State {
    /// Deadline and registration number → the token to cancel.
    pending: BTreeMap<(Instant, u64), CancellationToken>,
    stop: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

/// Cancels registered queries at their deadline, from one background thread.
pub struct Watchdog {
    shared: Arc<Shared>,
    next: AtomicU64,
}

/// A registered query: its token, unregistered when dropped.
pub struct Watch {
    shared: Arc<Shared>,
    key: (Instant, u64),
    /// The token to give to the evaluator.
    pub token: CancellationToken,
}

impl Watchdog {
    /// Starts the watchdog thread; it ends when the watchdog is dropped.
    pub fn start() -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        let worker = Arc::clone(&shared);
        thread::Builder::new()
            .name("cellkg query watchdog".into())
            .spawn(move || run(&worker))?;
        Ok(Watchdog {
            shared,
            next: AtomicU64::new(0),
        })
    }

    /// Registers a query that must end within `limit`.
    pub fn watch(&self, limit: Duration) -> Watch {
        let key = (
            Instant::now() + limit,
            self.next.fetch_add(1, Ordering::Relaxed),
        );
        let token = CancellationToken::new();
        let mut state = lock(&self.shared);
        let earliest = state.pending.keys().next().is_none_or(|first| key < *first);
        state.pending.insert(key, token.clone());
        drop(state);
        if earliest {
            self.shared.wake.notify_one();
        }
        Watch {
            shared: Arc::clone(&self.shared),
            key,
            token,
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        lock(&self.shared).stop = true;
        self.shared.wake.notify_one();
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        lock(&self.shared).pending.remove(&self.key);
    }
}

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, State> {
    // A panic while holding the lock leaves the map consistent: keep going.
    shared.state.lock().unwrap_or_else(|e| e.into_inner())
}

fn run(shared: &Shared) {
    let mut state = lock(shared);
    loop {
        if state.stop {
            return;
        }
        let now = Instant::now();
        while let Some(entry) = state.pending.first_entry() {
            if entry.key().0 > now {
                break;
            }
            entry.remove().cancel();
        }
        state = match state.pending.keys().next() {
            None => shared.wake.wait(state).unwrap_or_else(|e| e.into_inner()),
            Some(&(deadline, _)) => {
                shared
                    .wake
                    .wait_timeout(state, deadline.saturating_duration_since(now))
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancels_at_the_deadline_and_not_before() {
        let dog = Watchdog::start().unwrap();
        let slow = dog.watch(Duration::from_millis(50));
        let fast = dog.watch(Duration::from_secs(60));
        assert!(!slow.token.is_cancelled());
        let start = Instant::now();
        while !slow.token.is_cancelled() && start.elapsed() < Duration::from_secs(5) {
            thread::sleep(Duration::from_millis(5));
        }
        assert!(slow.token.is_cancelled());
        assert!(!fast.token.is_cancelled());
    }

    #[test]
    fn a_finished_query_is_never_cancelled() {
        let dog = Watchdog::start().unwrap();
        let token = {
            let w = dog.watch(Duration::from_millis(10));
            w.token.clone()
        };
        thread::sleep(Duration::from_millis(50));
        assert!(!token.is_cancelled());
    }
}
