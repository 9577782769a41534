fn main() {
    println!("apiwatch: the replay command is being written");
}
