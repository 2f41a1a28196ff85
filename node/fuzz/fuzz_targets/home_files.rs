#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    passport_node_fuzz::home_files(data);
});
