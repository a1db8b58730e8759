//! The README's type mapping table is the generator's own table.

#[test]
fn readme_mapping_table_is_current() {
    let readme = include_str!("../../README.md");
    let start = readme
        .find("<!-- mapping-table:start")
        .expect("README has the mapping-table:start marker");
    let body_start = start + readme[start..].find("-->").expect("marker ends") + 3;
    let end = readme
        .find("<!-- mapping-table:end -->")
        .expect("README has the mapping-table:end marker");
    let in_readme = readme[body_start..end].trim();
    let generated = bitrix_codegen::mapping::markdown_table();
    assert_eq!(
        in_readme,
        generated.trim(),
        "README.md's mapping table is stale: paste the output of bitrix_codegen::mapping::markdown_table() between the markers"
    );
}
