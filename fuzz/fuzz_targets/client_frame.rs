//! Untrusted bytes through the frame decoder, the hello/auth path and the meeting core.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    huddle::fuzzing::client_frame(data);
});
