#![forbid(unsafe_code)]
fn main() {
    println!("mailpath {}", mailpath_core::version());
}
