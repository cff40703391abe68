//! Helpers the engine's unit tests share: a propagation sink that records each propagated command as
//! one line of text, and argv and replies written as text.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use larder_resp::Reply;

use crate::Propagate;

/// Records every propagated command as its words joined by spaces. Clones share the record.
#[derive(Clone, Default)]
pub(crate) struct Recorder(pub(crate) Arc<Mutex<Vec<String>>>);

impl Propagate for Recorder {
    fn propagate(&mut self, argv: &[Bytes]) {
        let words: Vec<String> =
            argv.iter().map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        self.0.lock().unwrap().push(words.join(" "));
    }
}

impl Recorder {
    /// The lines recorded since the last call, emptying the record.
    pub(crate) fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// A command line split on single spaces.
pub(crate) fn argv(s: &str) -> Vec<Bytes> {
    s.split(' ').map(|w| Bytes::copy_from_slice(w.as_bytes())).collect()
}

/// A bulk string reply.
pub(crate) fn bulk(s: &str) -> Reply {
    Reply::Bulk(Bytes::copy_from_slice(s.as_bytes()))
}
