//! Group commit: concurrent callers of one script (publishes, acks) are served by a single script run
//! over all the jobs queued while the previous run was in progress. Under load this turns many short
//! holds of the engine (or round trips to Redis) into few; an idle batcher runs a job at once.
//!
//! The script gets `ARGV[3]` = the number of jobs, then for each job its argument count followed by its
//! arguments, and answers an array with one reply per job.

use std::sync::Arc;

use bytes::Bytes;
use larder_resp::Reply;
use tokio::sync::{mpsc, oneshot};

use crate::error::QueueError;
use crate::keys::Keys;
use crate::service::now_ms;
use crate::store::{QueueStore, Script, reply};

/// The most jobs one run takes.
const MAX_JOBS: usize = 256;
/// The most argument bytes one run takes (a job larger than this runs alone).
const MAX_BYTES: usize = 8 << 20;

struct Job {
    args: Vec<Bytes>,
    done: oneshot::Sender<Result<Reply, QueueError>>,
}

/// A queue of jobs for one script.
pub(crate) struct Batcher {
    tx: mpsc::UnboundedSender<Job>,
}

impl Batcher {
    /// Starts the task that runs `script` for the jobs sent to it. It ends when the batcher is dropped.
    pub(crate) fn start(
        store: Arc<dyn QueueStore>,
        keys: Keys,
        max_events: u64,
        script: &'static Script,
    ) -> Batcher {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        tokio::spawn(async move {
            let prefix = Bytes::copy_from_slice(keys.prefix().as_bytes());
            while let Some(first) = rx.recv().await {
                let mut jobs = vec![first];
                let mut bytes: usize = jobs[0].args.iter().map(Bytes::len).sum();
                while jobs.len() < MAX_JOBS && bytes < MAX_BYTES {
                    match rx.try_recv() {
                        Ok(j) => {
                            bytes += j.args.iter().map(Bytes::len).sum::<usize>();
                            jobs.push(j);
                        }
                        Err(_) => break,
                    }
                }
                let mut args =
                    Vec::with_capacity(3 + jobs.iter().map(|j| j.args.len() + 1).sum::<usize>());
                args.push(Bytes::from(now_ms().to_string()));
                args.push(Bytes::from(max_events.to_string()));
                args.push(Bytes::from(jobs.len().to_string()));
                for j in &mut jobs {
                    args.push(Bytes::from(j.args.len().to_string()));
                    args.append(&mut j.args);
                }
                let r = store
                    .eval(script, vec![prefix.clone()], args)
                    .await
                    .map_err(QueueError::from)
                    .and_then(|r| reply::check(r).map_err(QueueError::from));
                match r {
                    Ok(r) => {
                        let mut replies = reply::array(r).into_iter();
                        for j in jobs {
                            let one = replies.next().ok_or_else(|| {
                                QueueError::internal(format!(
                                    "{}: missing reply for a job",
                                    script.name
                                ))
                            });
                            let _ = j.done.send(one);
                        }
                    }
                    Err(e) => {
                        for j in jobs {
                            let _ = j.done.send(Err(e.clone()));
                        }
                    }
                }
            }
        });
        Batcher { tx }
    }

    /// Runs one job and returns its reply.
    pub(crate) async fn run(&self, args: Vec<Bytes>) -> Result<Reply, QueueError> {
        let (done, rx) = oneshot::channel();
        self.tx
            .send(Job { args, done })
            .map_err(|_| QueueError::internal("the queue is shutting down"))?;
        rx.await.map_err(|_| QueueError::internal("the queue is shutting down"))?
    }
}
