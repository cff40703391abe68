//! The key layout (see `docs/queue.md`). Every key carries the hash tag of its partition, so that on a
//! Redis Cluster all the keys one script touches live in one slot. Scripts get the prefix as `KEYS[1]`
//! and build the per-message keys from it.

/// The keys of one partition.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Default for Keys {
    fn default() -> Keys {
        Keys::new("q")
    }
}

impl Keys {
    /// The keys of partition `tag`: `qstash:{tag}:...`.
    pub fn new(tag: &str) -> Keys {
        Keys { prefix: format!("qstash:{{{tag}}}:") }
    }

    /// `qstash:{q}:`, passed to every script as `KEYS[1]`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn k(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    pub fn msg(&self, id: &str) -> String {
        self.k(&format!("msg:{id}"))
    }
    pub fn msgs(&self) -> String {
        self.k("msgs")
    }
    pub fn due(&self) -> String {
        self.k("due")
    }
    pub fn inflight(&self) -> String {
        self.k("inflight")
    }
    pub fn queues(&self) -> String {
        self.k("queues")
    }
    pub fn queue(&self, name: &str) -> String {
        self.k(&format!("queue:{name}"))
    }
    pub fn queue_wait(&self, name: &str) -> String {
        self.k(&format!("queue:{name}:wait"))
    }
    pub fn fcs(&self) -> String {
        self.k("fcs")
    }
    pub fn fc(&self, key: &str) -> String {
        self.k(&format!("fc:{key}"))
    }
    pub fn fc_wait(&self, key: &str) -> String {
        self.k(&format!("fc:{key}:wait"))
    }
    pub fn dedup(&self, hash: &str) -> String {
        self.k(&format!("dedup:{hash}"))
    }
    pub fn scheds(&self) -> String {
        self.k("scheds")
    }
    pub fn sched_due(&self) -> String {
        self.k("sched:due")
    }
    pub fn sched(&self, id: &str) -> String {
        self.k(&format!("sched:{id}"))
    }
    pub fn topics(&self) -> String {
        self.k("topics")
    }
    pub fn topic(&self, name: &str) -> String {
        self.k(&format!("topic:{name}"))
    }
    pub fn dlq(&self) -> String {
        self.k("dlq")
    }
    pub fn dlq_entry(&self, id: &str) -> String {
        self.k(&format!("dlq:{id}"))
    }
    pub fn events(&self) -> String {
        self.k("events")
    }
    pub fn signing(&self) -> String {
        self.k("signing")
    }
}
