//! The sets family. (Being written.)
