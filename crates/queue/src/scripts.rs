//! The Lua scripts, one per state transition (see `docs/queue.md`). Each is `lua/common.lua`, then its own
//! body as a function `main`, then `flush()` of the writes `common.lua` buffers.
//!
//! Over a memory limit (`maxmemory` with nothing left to evict) scripts that create messages (publish,
//! schedules firing, DLQ retries) are refused, while the transitions of existing messages carry Redis 7's
//! `allow-oom` flag: claims, acks, failures, cancels and deletions keep running, so deliveries go on
//! draining the queue, which is what frees memory.

use std::sync::LazyLock;

use crate::store::Script;

macro_rules! script {
    ($name:ident, $file:literal) => {
        script!($name, $file, "");
    };
    ($name:ident, $file:literal, allow_oom) => {
        script!($name, $file, "#!lua flags=allow-oom\n");
    };
    ($name:ident, $file:literal, $shebang:literal) => {
        pub static $name: LazyLock<Script> = LazyLock::new(|| {
            Script::new(
                $file,
                concat!(
                    $shebang,
                    include_str!("lua/common.lua"),
                    "local function main()\n",
                    include_str!(concat!("lua/", $file, ".lua")),
                    "end\nlocal result = main()\nflush()\nreturn result\n"
                )
                .to_string(),
            )
        });
    };
}

script!(PUBLISH, "publish");
script!(CLAIM, "claim", allow_oom);
script!(ACK, "ack", allow_oom);
script!(FAIL, "fail", allow_oom);
script!(CANCEL, "cancel", allow_oom);
script!(RECOVER_ALL, "recover_all", allow_oom);
script!(QUEUE_UPSERT, "queue_upsert");
script!(QUEUE_PAUSE, "queue_pause", allow_oom);
script!(QUEUE_DELETE, "queue_delete", allow_oom);
script!(FC_UPDATE, "fc_update", allow_oom);
script!(SCHED_PUT, "sched_put");
script!(SCHED_FIRE, "sched_fire");
script!(SCHED_PAUSE, "sched_pause", allow_oom);
script!(SCHED_DELETE, "sched_delete", allow_oom);
script!(TOPIC_SET, "topic_set");
script!(DLQ_RETRY, "dlq_retry");
script!(DLQ_DELETE, "dlq_delete", allow_oom);
script!(KEYS_INIT, "keys_init");
script!(KEYS_ROTATE, "keys_rotate");
