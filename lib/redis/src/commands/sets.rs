//! Sets.

macro_rules! set_commands {
    ($emit:ident) => { $emit! {
        /// `SADD key member...`: how many members were new.
        fn sadd(key: impl AsRef<str>, members: impl IntoIterator<Item = impl Serialize>) -> i64 {
            Cmd::new("SADD").arg(key.as_ref()).values(members)
        }

        /// `SREM key member...`: how many members were removed.
        fn srem(key: impl AsRef<str>, members: impl IntoIterator<Item = impl Serialize>) -> i64 {
            Cmd::new("SREM").arg(key.as_ref()).values(members)
        }

        /// `SMEMBERS key` (in no particular order).
        fn smembers[T: DeserializeOwned](key: impl AsRef<str>) -> Vec<T> {
            Cmd::new("SMEMBERS").arg(key.as_ref())
        }

        /// `SISMEMBER key member`.
        fn sismember(key: impl AsRef<str>, member: impl Serialize) -> bool {
            Cmd::new("SISMEMBER").arg(key.as_ref()).value(&member)
        }

        /// `SMISMEMBER key member...`: one `bool` per member.
        fn smismember(key: impl AsRef<str>, members: impl IntoIterator<Item = impl Serialize>) -> Vec<bool> {
            Cmd::new("SMISMEMBER").arg(key.as_ref()).values(members)
        }

        /// `SCARD key`.
        fn scard(key: impl AsRef<str>) -> i64 {
            Cmd::new("SCARD").arg(key.as_ref())
        }

        /// `SPOP key`: a random member, removed.
        fn spop[T: DeserializeOwned](key: impl AsRef<str>) -> Option<T> {
            Cmd::new("SPOP").arg(key.as_ref())
        }

        /// `SPOP key count`: up to `count` random members, removed.
        fn spop_count[T: DeserializeOwned](key: impl AsRef<str>, count: u64) -> Vec<T> {
            Cmd::new("SPOP").arg(key.as_ref()).arg(count)
        } via crate::de::vec_or_nil;

        /// `SRANDMEMBER key`: a random member.
        fn srandmember[T: DeserializeOwned](key: impl AsRef<str>) -> Option<T> {
            Cmd::new("SRANDMEMBER").arg(key.as_ref())
        }

        /// `SRANDMEMBER key count`: up to `count` distinct members (negative: may repeat).
        fn srandmember_count[T: DeserializeOwned](key: impl AsRef<str>, count: i64) -> Vec<T> {
            Cmd::new("SRANDMEMBER").arg(key.as_ref()).arg(count)
        } via crate::de::vec_or_nil;

        /// `SINTER key...`.
        fn sinter[T: DeserializeOwned](keys: impl ToArgs) -> Vec<T> {
            Cmd::new("SINTER").arg(keys)
        }

        /// `SUNION key...`.
        fn sunion[T: DeserializeOwned](keys: impl ToArgs) -> Vec<T> {
            Cmd::new("SUNION").arg(keys)
        }

        /// `SDIFF key...`: members of the first set in none of the others.
        fn sdiff[T: DeserializeOwned](keys: impl ToArgs) -> Vec<T> {
            Cmd::new("SDIFF").arg(keys)
        }

        /// `SINTERSTORE destination key...`: the size of the result.
        fn sinterstore(destination: impl AsRef<str>, keys: impl ToArgs) -> i64 {
            Cmd::new("SINTERSTORE").arg(destination.as_ref()).arg(keys)
        }

        /// `SUNIONSTORE destination key...`.
        fn sunionstore(destination: impl AsRef<str>, keys: impl ToArgs) -> i64 {
            Cmd::new("SUNIONSTORE").arg(destination.as_ref()).arg(keys)
        }

        /// `SDIFFSTORE destination key...`.
        fn sdiffstore(destination: impl AsRef<str>, keys: impl ToArgs) -> i64 {
            Cmd::new("SDIFFSTORE").arg(destination.as_ref()).arg(keys)
        }

        /// `SINTERCARD numkeys key... [LIMIT n]`: the size of the intersection.
        fn sintercard(keys: impl ToArgs, limit: Option<u64>) -> i64 {
            Cmd::new("SINTERCARD").arg(counted(keys)).arg(limit.map(|l| ("LIMIT", l)))
        }

        /// `SMOVE source destination member`: whether it was moved.
        fn smove(source: impl AsRef<str>, destination: impl AsRef<str>, member: impl Serialize) -> bool {
            Cmd::new("SMOVE").arg(source.as_ref()).arg(destination.as_ref()).value(&member)
        }

        /// `SSCAN key cursor [MATCH] [COUNT]`: the next cursor and a batch of members.
        fn sscan[T: DeserializeOwned](key: impl AsRef<str>, cursor: u64, options: ScanOptions) -> (u64, Vec<T>) {
            Cmd::new("SSCAN").arg(key.as_ref()).arg(cursor).arg(options)
        } via crate::de::scan;
    } };
}
