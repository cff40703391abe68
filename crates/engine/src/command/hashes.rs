//! The hashes family. (Being written.)
