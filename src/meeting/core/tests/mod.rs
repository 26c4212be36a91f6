//! Unit tests of the meeting core, one file per chapter (the harness is `super::harness`).

mod agreement;
mod drop_in;
mod hardening;
mod media;
mod membership;
mod moderation;
mod relay;
mod resume;
mod schedule;
