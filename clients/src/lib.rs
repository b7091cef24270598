//! allot client
