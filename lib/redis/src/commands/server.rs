//! Connection and server commands.

macro_rules! server_commands {
    ($emit:ident) => {
        $emit! {
            /// `PING`: `PONG`.
            fn ping() -> String {
                Cmd::new("PING")
            }

            /// `ECHO message`.
            fn echo(message: impl AsRef<str>) -> String {
                Cmd::new("ECHO").arg(message.as_ref())
            }

            /// `DBSIZE`: the number of keys.
            fn dbsize() -> i64 {
                Cmd::new("DBSIZE")
            }

            /// `FLUSHDB`: deletes every key of the database.
            fn flushdb() -> () {
                Cmd::new("FLUSHDB")
            }

            /// `FLUSHALL`: deletes every key of every database.
            fn flushall() -> () {
                Cmd::new("FLUSHALL")
            }

            /// `TIME`: the server's clock as (Unix seconds, microseconds).
            fn time() -> (u64, u64) {
                Cmd::new("TIME")
            }
        }
    };
}
