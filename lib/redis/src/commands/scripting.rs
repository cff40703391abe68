//! Scripting and functions. For scripts, prefer [`Script`](crate::Script), which sends `EVALSHA`
//! and falls back to `EVAL` only when the server does not have the script yet.

macro_rules! scripting_commands {
    ($emit:ident) => { $emit! {
        /// `EVAL script numkeys key... arg...`: the script's reply.
        fn eval[T: DeserializeOwned](script: impl AsRef<str>, keys: impl ToArgs, args: impl ToArgs) -> T {
            Cmd::new("EVAL").arg(script.as_ref()).arg(counted(keys)).arg(args)
        }

        /// `EVAL_RO script numkeys key... arg...`: a script that may only read.
        fn eval_ro[T: DeserializeOwned](script: impl AsRef<str>, keys: impl ToArgs, args: impl ToArgs) -> T {
            Cmd::new("EVAL_RO").arg(script.as_ref()).arg(counted(keys)).arg(args)
        }

        /// `EVALSHA sha1 numkeys key... arg...`: fails with `NOSCRIPT` when the server does not have
        /// the script.
        fn evalsha[T: DeserializeOwned](sha1: impl AsRef<str>, keys: impl ToArgs, args: impl ToArgs) -> T {
            Cmd::new("EVALSHA").arg(sha1.as_ref()).arg(counted(keys)).arg(args)
        }

        /// `EVALSHA_RO sha1 numkeys key... arg...`.
        fn evalsha_ro[T: DeserializeOwned](sha1: impl AsRef<str>, keys: impl ToArgs, args: impl ToArgs) -> T {
            Cmd::new("EVALSHA_RO").arg(sha1.as_ref()).arg(counted(keys)).arg(args)
        }

        /// `SCRIPT LOAD script`: the script's SHA-1.
        fn script_load(script: impl AsRef<str>) -> String {
            Cmd::new("SCRIPT").arg("LOAD").arg(script.as_ref())
        }

        /// `SCRIPT EXISTS sha1...`: one `bool` per hash.
        fn script_exists(sha1s: impl ToArgs) -> Vec<bool> {
            Cmd::new("SCRIPT").arg("EXISTS").arg(sha1s)
        }

        /// `SCRIPT FLUSH`: forgets every cached script.
        fn script_flush() -> () {
            Cmd::new("SCRIPT").arg("FLUSH")
        }

        /// `FUNCTION LOAD [REPLACE] code`: the library name.
        fn function_load(code: impl AsRef<str>, replace: bool) -> String {
            Cmd::new("FUNCTION").arg("LOAD").arg_if(replace, "REPLACE").arg(code.as_ref())
        }

        /// `FUNCTION DELETE library`.
        fn function_delete(library: impl AsRef<str>) -> () {
            Cmd::new("FUNCTION").arg("DELETE").arg(library.as_ref())
        }

        /// `FUNCTION FLUSH`.
        fn function_flush() -> () {
            Cmd::new("FUNCTION").arg("FLUSH")
        }

        /// `FCALL function numkeys key... arg...`.
        fn fcall[T: DeserializeOwned](function: impl AsRef<str>, keys: impl ToArgs, args: impl ToArgs) -> T {
            Cmd::new("FCALL").arg(function.as_ref()).arg(counted(keys)).arg(args)
        }

        /// `FCALL_RO function numkeys key... arg...`.
        fn fcall_ro[T: DeserializeOwned](function: impl AsRef<str>, keys: impl ToArgs, args: impl ToArgs) -> T {
            Cmd::new("FCALL_RO").arg(function.as_ref()).arg(counted(keys)).arg(args)
        }
    } };
}
