//! Input generators shared by the decoders' property tests.

use proptest::prelude::Strategy;

/// Lines of bytes for UTF-8 checks: ASCII runs, multi-byte characters and stray high bytes
/// (truncated or broken sequences), in any order.
pub(crate) fn utf8_edge_lines() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        proptest::prop_oneof![
            proptest::string::string_regex("[ -~]{0,70}").unwrap().prop_map(String::into_bytes),
            proptest::string::string_regex("[é€😀ß]{0,5}").unwrap().prop_map(String::into_bytes),
            proptest::collection::vec(0x80u8..=0xff, 0..3),
        ],
        0..8,
    )
    .prop_map(|parts| parts.concat())
}
