//! Replays the fuzz corpus (`fuzz/corpus/client_frame/`) through the same entry point the fuzzer
//! drives, so an input that once crashed the decoder, the auth path or the meeting core fails the
//! normal test command. Grow the corpus with `cargo +nightly fuzz run client_frame` (see fuzz/).

#[test]
fn every_corpus_input_is_handled_without_panicking() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/client_frame");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus directory") {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        huddle::fuzzing::client_frame(&data);
        count += 1;
    }
    assert!(count >= 20, "the corpus has {count} inputs");
}
