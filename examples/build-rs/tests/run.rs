//! `cargo run -p example-build-rs` works: the binary exits 0 and prints its report.

use std::process::Command;

#[test]
fn the_example_runs_and_prints_its_report() {
    let output = Command::new(env!("CARGO_BIN_EXE_example-build-rs"))
        .output()
        .expect("the example binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the example failed:\n{stdout}\n{stderr}"
    );
    for line in [
        "shop portal emulated at http://127.0.0.1:",
        "  order number   1042",
        "  delivery       Курьер",
        "  delivery date  2024-12-20",
        "  delivery cost  490 RUB",
        "  promo codes    ЗИМА10, FREESHIP",
        "  delivery       Самовывоз",
        "  delivery cost  -",
        "deals shipped by courier or post:",
        "Заказ №1043",
        "Почта России",
        "deleted 3 deals; 0 left on the portal",
    ] {
        assert!(
            stdout.contains(line),
            "the report lacks {line:?}:\n{stdout}"
        );
    }
}
