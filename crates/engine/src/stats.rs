//! Counters reported by `INFO`.

/// Server-wide counters.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub commands_processed: u64,
    pub connections_received: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub rejected_calls: u64,
    pub error_replies: u64,
    /// Keys deleted by eviction (INFO `evicted_keys`).
    pub evicted_keys: u64,
    /// Changes since start (Redis's `dirty`); also the basis of REST sync tokens.
    pub dirty: u64,
}
