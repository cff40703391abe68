//! The Lua scripts, one per state transition (see `docs/queue.md`). Each is `lua/common.lua`, then its own
//! body as a function `main`, then `flush()` of the writes `common.lua` buffers.

use std::sync::LazyLock;

use crate::store::Script;

macro_rules! script {
    ($name:ident, $file:literal) => {
        pub static $name: LazyLock<Script> = LazyLock::new(|| {
            Script::new(
                $file,
                concat!(
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
script!(CLAIM, "claim");
script!(ACK, "ack");
script!(FAIL, "fail");
script!(CANCEL, "cancel");
script!(RECOVER_ALL, "recover_all");
script!(QUEUE_UPSERT, "queue_upsert");
script!(QUEUE_PAUSE, "queue_pause");
script!(QUEUE_DELETE, "queue_delete");
script!(FC_UPDATE, "fc_update");
script!(SCHED_PUT, "sched_put");
script!(SCHED_FIRE, "sched_fire");
script!(SCHED_PAUSE, "sched_pause");
script!(SCHED_DELETE, "sched_delete");
script!(TOPIC_SET, "topic_set");
script!(DLQ_RETRY, "dlq_retry");
script!(DLQ_DELETE, "dlq_delete");
script!(KEYS_INIT, "keys_init");
script!(KEYS_ROTATE, "keys_rotate");
