fn main() {
    let r = apiwatch_core::redact::Redactor::new([7; 32]);
    for s in std::env::args().skip(1) {
        let once = r.redact_text(&s).into_owned();
        let twice = r.redact_text(&once).into_owned();
        println!("{s:?}\n  {once:?}\n  {twice:?}");
    }
}
