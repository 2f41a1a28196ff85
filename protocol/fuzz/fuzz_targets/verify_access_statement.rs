#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    passport_protocol_fuzz::verify_kind(passport_protocol::MessageKind::AccessStatement, data);
});
