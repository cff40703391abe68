//! The queue's error: an HTTP status and the message for `{"error": ...}`.

use crate::store::StoreError;

/// An error the API answers with `status` and `{"error": message}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueueError {
    pub status: u16,
    pub message: String,
}

impl QueueError {
    pub fn new(status: u16, message: impl Into<String>) -> QueueError {
        QueueError { status, message: message.into() }
    }
    pub fn bad_request(message: impl Into<String>) -> QueueError {
        QueueError::new(400, message)
    }
    pub fn not_found(message: impl Into<String>) -> QueueError {
        QueueError::new(404, message)
    }
    pub fn internal(message: impl Into<String>) -> QueueError {
        QueueError::new(500, message)
    }
}

impl From<StoreError> for QueueError {
    fn from(e: StoreError) -> QueueError {
        QueueError::internal(e.to_string())
    }
}
