//! The lists family. (Being written.)
