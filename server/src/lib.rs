//! allot server
