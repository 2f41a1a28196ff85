#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    passport_node_fuzz::net_frame(data);
});
