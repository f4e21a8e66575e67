//! A fixed set of threads for Argon2 work, one per core.
//!
//! Each Argon2id run takes 19 MiB. On tokio's blocking pool a run lands on
//! whichever of up to hundreds of threads is free, each thread gets its own
//! glibc arena, and every arena keeps its 19 MiB after the run: a login
//! benchmark took trackerd to 770 MiB of RSS that way. On a few long-lived
//! threads the memory is allocated once per thread and reused.

use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, OnceLock, PoisonError};

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

fn pool() -> &'static Mutex<Sender<Job>> {
    static POOL: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
    POOL.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(Mutex::new(rx));
        let threads = std::thread::available_parallelism().map_or(2, usize::from);
        for i in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while taking a job.
                        let job = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        match job {
                            // A panicking job must not take its thread along.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!("cannot start an Argon2 thread: {e}");
            }
        }
        Mutex::new(tx)
    })
}

/// Runs `f` on an Argon2 thread; `None` if no thread could run it (none
/// started, or `f` panicked).
pub async fn run<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (reply, result) = oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = reply.send(f());
    });
    pool()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .send(job)
        .ok()?;
    result.await.ok()
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn jobs_run_on_the_argon2_threads_and_a_panic_costs_no_thread() {
        let name = super::run(|| std::thread::current().name().map(str::to_owned)).await;
        assert!(name.flatten().is_some_and(|n| n.starts_with("argon2-")));
        let threads = std::thread::available_parallelism().map_or(2, usize::from);
        // More panics than threads: every thread survives its own.
        for _ in 0..threads + 1 {
            assert_eq!(super::run(|| -> u32 { panic!("boom") }).await, None);
        }
        for i in 0..8u64 {
            assert_eq!(super::run(move || i * 2).await, Some(i * 2));
        }
    }
}
