//! Runs the program: one generic library, two portals.

use std::process::Command;

#[test]
fn the_program_reports_on_both_portals() {
    let output = Command::new(env!("CARGO_BIN_EXE_example-library-author"))
        .output()
        .expect("the program runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    for line in [
        "created deal 1501 on the demo portal and deal 601 on the seed portal",
        "== demo portal (1501 deals read as DemoDeal)",
        "== seed portal (601 deals read as SeedDeal)",
        "pipeline 0 \"",
        "largest open deals:",
        "    99000000.00 RUB  NEW                Крупная поставка (demo)",
        "    99000000.00 RUB  NEW                Крупная поставка (seed)",
        "RUB across both portals:",
    ] {
        assert!(
            stdout.contains(line),
            "the output lacks {line:?}:\n{stdout}"
        );
    }
}
