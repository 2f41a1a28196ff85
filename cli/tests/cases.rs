//! Case files in `tests/cmd/` (trycmd): each shows a command, its exit code and its
//! exact output. `TRYCMD=overwrite cargo test -p passport-cli --test cases` rewrites
//! them after an intended change.

#[test]
fn cli_cases() {
    trycmd::TestCases::new().case("tests/cmd/*.trycmd");
}
