//! The zsets family. (Being written.)
