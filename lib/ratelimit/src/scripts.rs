//! The Lua scripts, byte for byte the ones bundled in `@upstash/ratelimit` 2.2.0 (MIT licensed,
//! Copyright (c) Upstash, Inc.; `src/lua-scripts/{single,multi,reset}.ts` and
//! `src/deny-list/scripts.ts`).
//!
//! The text is reproduced **exactly** (leading newlines, indentation, trailing spaces, the
//! `#!lua flags=allow-key-locking` shebang) because the server caches scripts under the SHA-1 of
//! their text: with the same text, an `EVALSHA` from this crate hits a script a JavaScript client
//! already loaded (and vice versa), and the effects on the keys are identical by construction.
//! The `.lua` files are marked `-text` in `.gitattributes` so no line-ending conversion can alter
//! them, and the tests below pin every hash to the table in the compatibility reference
//! (`ratelimit.md` §4.1).
//!
//! The scripts of this crate's own limiters (GCRA, concurrency) are in their modules.

use std::sync::LazyLock;

use larder_redis::Script;

macro_rules! scripts {
    ($($name:ident = $file:literal;)*) => {$(
        pub(crate) static $name: LazyLock<Script> =
            LazyLock::new(|| Script::new(include_str!(concat!("scripts/", $file))));
    )*};
}

scripts! {
    FIXED_WINDOW_LIMIT = "fixed_window_limit.lua";
    FIXED_WINDOW_REMAINING = "fixed_window_remaining.lua";
    SLIDING_WINDOW_LIMIT = "sliding_window_limit.lua";
    SLIDING_WINDOW_REMAINING = "sliding_window_remaining.lua";
    TOKEN_BUCKET_LIMIT = "token_bucket_limit.lua";
    TOKEN_BUCKET_REMAINING = "token_bucket_remaining.lua";
    CACHED_FIXED_WINDOW_LIMIT = "cached_fixed_window_limit.lua";
    CACHED_FIXED_WINDOW_REMAINING = "cached_fixed_window_remaining.lua";
    MULTI_FIXED_WINDOW_LIMIT = "multi_fixed_window_limit.lua";
    MULTI_FIXED_WINDOW_REMAINING = "multi_fixed_window_remaining.lua";
    MULTI_SLIDING_WINDOW_LIMIT = "multi_sliding_window_limit.lua";
    MULTI_SLIDING_WINDOW_REMAINING = "multi_sliding_window_remaining.lua";
    RESET = "reset.lua";
    DENY_LIST_CHECK = "deny_list_check.lua";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_match_upstash_ratelimit_2_2_0() {
        let table: [(&LazyLock<Script>, &str); 14] = [
            (&FIXED_WINDOW_LIMIT, "b2efc02798c8e9b471a10f9b1d5745db89923ff3"),
            (&FIXED_WINDOW_REMAINING, "823cb2a5a902d69681244f5e28e5ebb8f2a89edd"),
            (&SLIDING_WINDOW_LIMIT, "74740bb3d7792848093cdef586b6b6037c455fd6"),
            (&SLIDING_WINDOW_REMAINING, "7ca36169e0fc9caedd81b4eef8e99854c157f9b5"),
            (&TOKEN_BUCKET_LIMIT, "d60be5bd3d83482ae229309f1f7425424f891204"),
            (&TOKEN_BUCKET_REMAINING, "40daf4a441df736f5c99f8b77bbe176c909e5de4"),
            (&CACHED_FIXED_WINDOW_LIMIT, "1861a700bafe96c833a483af6b1c28a8897cfdb0"),
            (&CACHED_FIXED_WINDOW_REMAINING, "eb82f0e853d2fc9a236fa9bfbe704fda6ac2fc36"),
            (&MULTI_FIXED_WINDOW_LIMIT, "e04b753a75909b7f99aae4c04cf8869a8de02a9e"),
            (&MULTI_FIXED_WINDOW_REMAINING, "e066c8ce3eaca142b0894ad1541e0a58c9924819"),
            (&MULTI_SLIDING_WINDOW_LIMIT, "aeb4d8f381e8dafc8e69041baae1324d254ded44"),
            (&MULTI_SLIDING_WINDOW_REMAINING, "87828c1088f6a8d1f512a434ea330189982a1c0a"),
            (&RESET, "54bd274ddc59fb3be0f42deee2f64322a10e2b50"),
            (&DENY_LIST_CHECK, "e8062088fe7e67994f617766e5d766490de1afb8"),
        ];
        for (script, sha) in table {
            assert_eq!(script.sha1(), sha, "{}", script.source());
        }
    }

    #[test]
    fn limit_scripts_carry_the_key_locking_shebang() {
        assert!(FIXED_WINDOW_LIMIT.source().starts_with("#!lua flags=allow-key-locking\n"));
        assert!(RESET.source().starts_with('\n'));
    }
}
