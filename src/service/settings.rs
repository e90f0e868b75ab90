//! (being built)

#[allow(unused_imports)]
use super::*;
