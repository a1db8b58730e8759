//! Generated code against this runtime, in one test binary: the generator's golden files
//! compile without warnings (`golden`), the 2,000-field worst case expands, compiles and
//! decodes (`huge`), the demo portal's types behave as their docs say (`demo`), and struct
//! names that clash with the generated code's own names compile (`strange`).

mod demo;
mod golden;
mod huge;
mod pipelines;
mod projection;
mod scale;
mod strange;
mod wide_required;
