//! The configure stage: what Debian maintainer scripts would do, declared instead of executed.
