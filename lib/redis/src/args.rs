//! Command arguments: [`ToArgs`], [`Cmd`] and the encoding of stored values.
//!
//! Every argument travels as a JSON string inside the command array (the server keeps the exact
//! text). Values stored through the typed methods (`set`, `hset`, `lpush`, ...) go through serde:
//! a string is stored as its text, anything else as its JSON text (`12`, `true`, `{"a":1}`), the same
//! way `@upstash/redis` stores them, so that a value written by one client reads back in the other.

use serde::Serialize;

use crate::error::Error;

/// Things that turn into command arguments: strings, numbers, booleans, and collections or tuples of
/// them (each element one argument). `None` adds nothing.
///
/// ```
/// use larder_redis::{Cmd, ToArgs};
/// let cmd = Cmd::new("ZADD").arg("board").arg((1.5, "alice")).arg(["x", "y"]);
/// assert_eq!(cmd.args(), ["ZADD", "board", "1.5", "alice", "x", "y"]);
/// ```
pub trait ToArgs {
    /// Appends the arguments to `out`.
    fn write_args(&self, out: &mut Vec<String>);

    /// The arguments as a vector.
    fn to_args(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.write_args(&mut out);
        out
    }
}

impl ToArgs for str {
    fn write_args(&self, out: &mut Vec<String>) {
        out.push(self.to_owned());
    }
}

impl ToArgs for String {
    fn write_args(&self, out: &mut Vec<String>) {
        out.push(self.clone());
    }
}

impl ToArgs for std::borrow::Cow<'_, str> {
    fn write_args(&self, out: &mut Vec<String>) {
        out.push(self.to_string());
    }
}

impl ToArgs for char {
    fn write_args(&self, out: &mut Vec<String>) {
        out.push(self.to_string());
    }
}

impl ToArgs for bool {
    fn write_args(&self, out: &mut Vec<String>) {
        out.push(if *self { "true" } else { "false" }.to_owned());
    }
}

macro_rules! int_args {
    ($($t:ty)*) => {$(
        impl ToArgs for $t {
            fn write_args(&self, out: &mut Vec<String>) {
                out.push(self.to_string());
            }
        }
    )*};
}

int_args!(i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize);

impl ToArgs for f64 {
    fn write_args(&self, out: &mut Vec<String>) {
        out.push(format_float(*self));
    }
}

impl ToArgs for f32 {
    fn write_args(&self, out: &mut Vec<String>) {
        out.push(format_float(f64::from(*self)));
    }
}

/// Redis's spelling of a float argument: `inf`/`-inf` are `+inf`/`-inf`, others the shortest text.
pub(crate) fn format_float(f: f64) -> String {
    if f == f64::INFINITY {
        "+inf".into()
    } else if f == f64::NEG_INFINITY {
        "-inf".into()
    } else {
        f.to_string()
    }
}

impl<T: ToArgs + ?Sized> ToArgs for &T {
    fn write_args(&self, out: &mut Vec<String>) {
        (**self).write_args(out);
    }
}

impl<T: ToArgs> ToArgs for [T] {
    fn write_args(&self, out: &mut Vec<String>) {
        for a in self {
            a.write_args(out);
        }
    }
}

impl<T: ToArgs, const N: usize> ToArgs for [T; N] {
    fn write_args(&self, out: &mut Vec<String>) {
        self.as_slice().write_args(out);
    }
}

impl<T: ToArgs> ToArgs for Vec<T> {
    fn write_args(&self, out: &mut Vec<String>) {
        self.as_slice().write_args(out);
    }
}

impl<T: ToArgs> ToArgs for Option<T> {
    fn write_args(&self, out: &mut Vec<String>) {
        if let Some(a) = self {
            a.write_args(out);
        }
    }
}

impl ToArgs for () {
    fn write_args(&self, _out: &mut Vec<String>) {}
}

macro_rules! tuple_args {
    ($($name:ident)+) => {
        impl<$($name: ToArgs),+> ToArgs for ($($name,)+) {
            #[allow(non_snake_case)]
            fn write_args(&self, out: &mut Vec<String>) {
                let ($($name,)+) = self;
                $($name.write_args(out);)+
            }
        }
    };
}

tuple_args!(A);
tuple_args!(A B);
tuple_args!(A B C);
tuple_args!(A B C D);
tuple_args!(A B C D E);
tuple_args!(A B C D E F);
tuple_args!(A B C D E F G);
tuple_args!(A B C D E F G H);
tuple_args!(A B C D E F G H I);
tuple_args!(A B C D E F G H I J);
tuple_args!(A B C D E F G H I J K);
tuple_args!(A B C D E F G H I J K L);

impl ToArgs for Cmd {
    fn write_args(&self, out: &mut Vec<String>) {
        out.extend(self.args.iter().cloned());
    }
}

/// The text a value is stored as: a string as is, anything else as JSON.
pub(crate) fn encode_value<V: Serialize + ?Sized>(value: &V) -> Result<String, Error> {
    let json = serde_json::to_string(value).map_err(|e| Error::Encode(e.to_string()))?;
    if json.starts_with('"') {
        serde_json::from_str::<String>(&json).map_err(|e| Error::Encode(e.to_string()))
    } else {
        Ok(json)
    }
}

/// One command: its name and arguments, built up with [`Cmd::arg`] and [`Cmd::value`].
///
/// Run it with [`Redis::command`](crate::Redis::command) or queue it on a
/// [`Pipeline`](crate::Pipeline) with [`Pipeline::command`](crate::Pipeline::command): it is the
/// escape hatch for any command or option without a typed method.
///
/// ```
/// use larder_redis::Cmd;
/// let cmd = Cmd::new("SET").arg("user:1").value(&serde_json::json!({"name": "Ada"})).arg(("EX", 60));
/// assert_eq!(cmd.args(), ["SET", "user:1", r#"{"name":"Ada"}"#, "EX", "60"]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Cmd {
    args: Vec<String>,
    error: Option<String>,
}

impl Cmd {
    /// A command with this name (any case) and no arguments yet.
    pub fn new(name: &str) -> Cmd {
        Cmd { args: vec![name.to_owned()], error: None }
    }

    /// Appends arguments.
    #[must_use]
    pub fn arg(mut self, a: impl ToArgs) -> Cmd {
        a.write_args(&mut self.args);
        self
    }

    /// Appends one stored value: a string as is, anything else as its JSON text (see the crate docs,
    /// "Storing values"). A value that cannot be serialized makes the command fail when it runs.
    #[must_use]
    pub fn value<V: Serialize + ?Sized>(mut self, value: &V) -> Cmd {
        match encode_value(value) {
            Ok(s) => self.args.push(s),
            Err(e) => {
                self.error.get_or_insert(e.to_string());
                self.args.push(String::new());
            }
        }
        self
    }

    /// Appends several stored values.
    #[must_use]
    pub fn values<V: Serialize>(self, values: impl IntoIterator<Item = V>) -> Cmd {
        values.into_iter().fold(self, |c, v| c.value(&v))
    }

    /// Appends arguments when `cond` holds.
    #[must_use]
    pub fn arg_if(self, cond: bool, a: impl ToArgs) -> Cmd {
        if cond { self.arg(a) } else { self }
    }

    /// Appends another command's words (its name included) and any encoding error it had.
    pub(crate) fn append(mut self, other: Cmd) -> Cmd {
        if self.error.is_none() {
            self.error = other.error;
        }
        self.args.extend(other.args);
        self
    }

    /// The command name followed by its arguments.
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// The command name.
    pub fn name(&self) -> &str {
        self.args.first().map_or("", String::as_str)
    }

    /// Checks that the command has a name and that every value was encodable.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if let Some(e) = &self.error {
            return Err(Error::Encode(e.clone()));
        }
        if self.args.is_empty() || self.args[0].is_empty() {
            return Err(Error::Encode("empty command".into()));
        }
        Ok(())
    }

    pub(crate) fn from_args(args: impl ToArgs) -> Cmd {
        Cmd { args: args.to_args(), error: None }
    }

    pub(crate) fn into_args(self) -> Vec<String> {
        self.args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_values_are_text_or_json() {
        assert_eq!(encode_value("hi").unwrap(), "hi");
        assert_eq!(encode_value("").unwrap(), "");
        assert_eq!(encode_value("\"q\"").unwrap(), "\"q\"");
        assert_eq!(encode_value(&12).unwrap(), "12");
        assert_eq!(encode_value(&false).unwrap(), "false");
        assert_eq!(encode_value(&Option::<i32>::None).unwrap(), "null");
        assert_eq!(encode_value(&vec![1, 2]).unwrap(), "[1,2]");
    }

    #[test]
    fn float_arguments() {
        assert_eq!(format_float(1.5), "1.5");
        assert_eq!(format_float(3.0), "3");
        assert_eq!(format_float(f64::INFINITY), "+inf");
        assert_eq!(format_float(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn bad_values_fail_at_check() {
        let mut m = std::collections::HashMap::new();
        m.insert((1, 2), 3);
        let c = Cmd::new("SET").arg("k").value(&m);
        assert!(matches!(c.check(), Err(Error::Encode(_))));
    }
}
