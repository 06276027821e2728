//! What the derive generates: every variant shape through a real queue, the
//! Kind enum, and the Handler trait with its dispatch.

use std::collections::HashMap;

use ipcq::{Dispatch, MessageKind, QueueMessage, TypedQueue};
use serde::{Deserialize, Serialize};
use tests::TestQueue;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct Point {
    x: i32,
    y: i32,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
enum Color {
    Red,
    Custom(u8, u8, u8),
}

#[derive(QueueMessage, Serialize, Deserialize, Debug, Clone, PartialEq)]
enum Shape {
    Unit,
    Tuple(u8, i64, String),
    Struct {
        list: Vec<u32>,
        maybe: Option<String>,
        map: HashMap<String, u64>,
    },
    #[ipcq(mtype = 40)]
    Nested(Point, Color),
    EmptyStruct {},
    EmptyTuple(),
    Float(f64, bool, char),
    #[ipcq(text)]
    Count(u64),
    #[ipcq(bytes)]
    Blob(Vec<u8>),
    #[ipcq(mtype = 7, bytes)]
    Line(String),
}

fn samples() -> Vec<Shape> {
    vec![
        Shape::Unit,
        Shape::Tuple(255, i64::MIN, "tuple ✓".into()),
        Shape::Struct {
            list: vec![0, 1, u32::MAX],
            maybe: Some("some".into()),
            map: HashMap::from([("a".into(), 1), ("b".into(), u64::MAX)]),
        },
        Shape::Struct {
            list: vec![],
            maybe: None,
            map: HashMap::new(),
        },
        Shape::Nested(Point { x: -1, y: 2 }, Color::Custom(1, 2, 3)),
        Shape::Nested(Point { x: 0, y: 0 }, Color::Red),
        Shape::EmptyStruct {},
        Shape::EmptyTuple(),
        Shape::Float(-0.5, true, 'é'),
        Shape::Count(1234567890),
        Shape::Blob(vec![0, 159, 146, 150, 255]),
        Shape::Blob(vec![]),
        Shape::Line("a line\n".into()),
    ]
}

#[test]
fn every_variant_shape_round_trips_through_a_queue() {
    let raw = TestQueue::new();
    let q = TypedQueue::<Shape>::from_queue((*raw).clone());
    for msg in samples() {
        q.send(&msg).unwrap();
        // The mtype on the wire is the variant's.
        let peeked = raw.try_recv(ipcq::Selector::Any).unwrap().unwrap();
        assert_eq!(peeked.mtype, msg.mtype());
        raw.send(peeked.mtype, &peeked.body).unwrap();
        assert_eq!(q.recv().unwrap(), msg);
    }
}

#[test]
fn mtypes_count_from_one_and_continue_after_explicit_ones() {
    let expected = [
        (ShapeKind::Unit, 1),
        (ShapeKind::Tuple, 2),
        (ShapeKind::Struct, 3),
        (ShapeKind::Nested, 40),
        (ShapeKind::EmptyStruct, 41),
        (ShapeKind::EmptyTuple, 42),
        (ShapeKind::Float, 43),
        (ShapeKind::Count, 44),
        (ShapeKind::Blob, 45),
        (ShapeKind::Line, 7),
    ];
    assert_eq!(ShapeKind::ALL, expected.map(|(k, _)| k));
    for (kind, mtype) in expected {
        assert_eq!(kind.mtype(), mtype);
        assert_eq!(MessageKind::mtype(kind), mtype);
        assert_eq!(i64::from(kind), mtype);
        assert_eq!(ShapeKind::from_mtype(mtype), Some(kind));
        assert_eq!(kind.to_string(), format!("{kind:?}"));
        assert_eq!(kind.name(), format!("{kind:?}"));
    }
    assert_eq!(ShapeKind::from_mtype(0), None);
    assert_eq!(ShapeKind::from_mtype(8), None);
    for msg in samples() {
        assert_eq!(msg.kind().mtype(), msg.mtype());
    }
}

#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
#[ipcq(base = 100)]
enum Based {
    First,
    Second(u8),
    #[ipcq(mtype = 5)]
    Low,
    AfterLow,
}

#[test]
fn base_moves_the_automatic_numbering() {
    assert_eq!(BasedKind::First.mtype(), 100);
    assert_eq!(BasedKind::Second.mtype(), 101);
    assert_eq!(BasedKind::Low.mtype(), 5);
    assert_eq!(BasedKind::AfterLow.mtype(), 6);
    assert_eq!(Based::Second(1).mtype(), 101);
    assert_eq!(Based::First.kind(), BasedKind::First);
    assert_eq!(Based::Low.mtype(), 5);
    assert_eq!(Based::AfterLow.kind().mtype(), 6);
    // Kinds rank as recv_priority ranks them: by mtype, not declaration.
    let mut kinds = BasedKind::ALL.to_vec();
    kinds.sort();
    use BasedKind::*;
    assert_eq!(kinds, [Low, AfterLow, First, Second]);
    assert!(Low < First);
    // Generic code over any message enum can rank its kinds too.
    fn most_urgent<K: ipcq::MessageKind>() -> K {
        K::ALL.iter().copied().min().expect("a kind")
    }
    assert_eq!(most_urgent::<BasedKind>(), Low);
}

#[derive(Default)]
struct Recorder {
    calls: Vec<String>,
}

impl ShapeHandler for Recorder {
    fn unit(&mut self) {
        self.calls.push("unit".into());
    }
    fn tuple(&mut self, a: u8, b: i64, c: String) {
        self.calls.push(format!("tuple {a} {b} {c}"));
    }
    fn r#struct(&mut self, list: Vec<u32>, maybe: Option<String>, map: HashMap<String, u64>) {
        self.calls
            .push(format!("struct {list:?} {maybe:?} {}", map.len()));
    }
    fn nested(&mut self, p: Point, c: Color) {
        self.calls.push(format!("nested {p:?} {c:?}"));
    }
    fn empty_struct(&mut self) {
        self.calls.push("empty_struct".into());
    }
    fn empty_tuple(&mut self) {
        self.calls.push("empty_tuple".into());
    }
    fn float(&mut self, f: f64, b: bool, c: char) {
        self.calls.push(format!("float {f} {b} {c}"));
    }
    fn count(&mut self, n: u64) {
        self.calls.push(format!("count {n}"));
    }
    fn blob(&mut self, bytes: Vec<u8>) {
        self.calls.push(format!("blob {bytes:?}"));
    }
    fn line(&mut self, text: String) {
        self.calls.push(format!("line {text:?}"));
    }
}

#[test]
fn dispatch_calls_the_handler_method_of_each_variant() {
    let mut recorder = Recorder::default();
    for msg in samples() {
        msg.dispatch(&mut recorder);
    }
    assert_eq!(
        recorder.calls,
        [
            "unit",
            "tuple 255 -9223372036854775808 tuple ✓",
            "struct [0, 1, 4294967295] Some(\"some\") 2",
            "struct [] None 0",
            "nested Point { x: -1, y: 2 } Custom(1, 2, 3)",
            "nested Point { x: 0, y: 0 } Red",
            "empty_struct",
            "empty_tuple",
            "float -0.5 true é",
            "count 1234567890",
            "blob [0, 159, 146, 150, 255]",
            "blob []",
            "line \"a line\\n\"",
        ]
    );
}

#[test]
fn serve_dispatches_received_messages_to_the_handler() {
    let raw = TestQueue::new();
    let q = TypedQueue::<Shape>::from_queue((*raw).clone());
    q.send(Shape::Count(3)).unwrap();
    q.send(Shape::Unit).unwrap();
    std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let mut recorder = Recorder::default();
            q.serve(&mut recorder).map(|()| recorder.calls)
        });
        while raw.stat().unwrap().messages > 0 {
            std::thread::yield_now();
        }
        q.remove().unwrap();
        assert_eq!(worker.join().unwrap().unwrap(), ["count 3", "unit"]);
    });
}

/// Fixed-size records, as a C program sends them: `struct { long mtype; char
/// data[N]; }` and `msgsnd(id, &rec, N, 0)`. No serde derive is needed when
/// every variant is a bytes or text one.
#[derive(QueueMessage, Debug, PartialEq)]
enum Record {
    #[ipcq(bytes)]
    Sample([u8; 64]),
    #[ipcq(bytes)]
    Flags([u8; 2]),
}

#[test]
fn array_bytes_variants_are_the_bare_record() {
    let raw = TestQueue::new();
    let q = raw.typed::<Record>();
    let mut sample = [0u8; 64];
    sample
        .iter_mut()
        .enumerate()
        .for_each(|(i, b)| *b = i as u8);

    // Sent typed, the body is the array and nothing else.
    q.send(Record::Sample(sample)).unwrap();
    let body = raw.try_recv(ipcq::Selector::Any).unwrap().unwrap();
    assert_eq!((body.mtype, &body.body[..]), (1, &sample[..]));

    // Sent raw, as from C, it arrives as the variant.
    raw.send(2, &[0xAB, 0xCD]).unwrap();
    assert_eq!(q.recv().unwrap(), Record::Flags([0xAB, 0xCD]));
    raw.send(1, &sample).unwrap();
    assert_eq!(q.recv().unwrap(), Record::Sample(sample));
}

#[test]
fn an_array_bytes_variant_hands_back_a_body_of_the_wrong_length() {
    let raw = TestQueue::new();
    let q = raw.typed::<Record>();
    for body in [&[1u8][..], &[1, 2, 3], &[]] {
        raw.send(2, body).unwrap();
        match q.recv() {
            Err(ipcq::Error::Decode(e)) => {
                assert_eq!((e.mtype(), e.bytes()), (2, body));
                match e.reason() {
                    ipcq::DecodeReason::Bytes { variant, error } => {
                        assert_eq!(*variant, "Flags");
                        assert!(error.contains("takes exactly 2"), "{error}");
                    }
                    other => panic!("{other:?}"),
                }
            }
            other => panic!("{} bytes gave {other:?}", body.len()),
        }
    }
    // Nothing was left behind, and the next good record still arrives.
    raw.send(2, &[7, 8]).unwrap();
    assert_eq!(q.try_recv().unwrap(), Some(Record::Flags([7, 8])));
    assert_eq!(q.try_recv().unwrap(), None);
}

/// Shapes users write that the generated code must not trip over: the
/// workspace's clippy runs with `-D warnings`, so a warning in what the
/// derive generates for these fails CI.
mod awkward {
    use super::*;

    /// A variant on its way out, and an enum that is.
    #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
    pub(crate) enum Versioned {
        #[deprecated = "send New"]
        Old(u8),
        New(u8),
    }

    #[deprecated = "use Versioned"]
    #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
    pub(crate) enum Retired {
        Only(u8),
        Again(Box<Self>),
    }

    /// A name the lint would flag, expected rather than allowed.
    #[expect(non_camel_case_types)]
    #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
    pub(crate) enum Legacy {
        Job_Done,
    }

    /// A type that contains itself, written with `Self`.
    #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
    pub(crate) enum Tree {
        Leaf(u8),
        Node(Vec<Self>),
        Boxed(Box<Self>),
    }

    /// A field named with a raw identifier.
    #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
    pub(crate) enum Raw {
        Job { r#type: u8 },
    }

    /// An enum named with a raw identifier, whose field says `Self`.
    #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
    pub(crate) enum r#Loop {
        Once(u8),
        Again(Option<Box<Self>>),
    }

    /// Variants named like the Kind's own functions, which a path such as
    /// `FieldKind::mtype` then names.
    #[allow(non_camel_case_types)]
    #[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)]
    pub(crate) enum Field {
        id,
        #[ipcq(mtype = 9)]
        name,
        mtype(u8),
        from_mtype,
    }

    /// An enum written by a `macro_rules!`: the variants' tokens carry the
    /// macro's hygiene.
    macro_rules! messages {
        ($(#[$meta:meta])* $vis:vis enum $name:ident) => {
            $(#[$meta])*
            $vis enum $name {
                Ping,
                Job { id: u64, path: String },
                #[ipcq(text)]
                Note(String),
                #[ipcq(bytes)]
                Blob(Vec<u8>),
            }
        };
    }

    messages!(#[derive(QueueMessage, Serialize, Deserialize, Debug, PartialEq)] pub(crate) enum FromMacro);
}

/// No prelude: everything the derive writes must be spelled out in full.
#[no_implicit_prelude]
mod without_prelude {
    #[derive(
        ::ipcq::QueueMessage, ::serde::Serialize, ::serde::Deserialize, ::core::fmt::Debug,
    )]
    pub(crate) enum Plain {
        Typed(::std::string::String),
        #[ipcq(text)]
        Text(u32),
        #[ipcq(bytes)]
        Bytes([u8; 4]),
    }
}

#[test]
#[allow(deprecated)]
fn deprecated_variants_and_enums_still_travel() {
    use awkward::{Retired, Versioned};
    let raw = TestQueue::new();
    let q = raw.typed::<Versioned>();
    q.send(Versioned::Old(1)).unwrap();
    q.send(Versioned::New(2)).unwrap();
    assert_eq!(q.recv().unwrap(), Versioned::Old(1));
    assert_eq!(q.recv().unwrap(), Versioned::New(2));
    let q = raw.typed::<Retired>();
    q.send(Retired::Only(3)).unwrap();
    assert_eq!(q.recv().unwrap(), Retired::Only(3));
}

#[test]
fn self_in_a_field_type_is_the_enum_in_the_handler_too() {
    use awkward::{Tree, TreeHandler};
    #[derive(Default)]
    struct Count(usize);
    impl TreeHandler for Count {
        fn leaf(&mut self, _: u8) {
            self.0 += 1;
        }
        fn node(&mut self, kids: Vec<Tree>) {
            kids.into_iter().for_each(|kid| kid.dispatch(self));
        }
        fn boxed(&mut self, inner: Box<Tree>) {
            inner.dispatch(self);
        }
    }
    let raw = TestQueue::new();
    let q = raw.typed::<Tree>();
    let tree = Tree::Node(vec![
        Tree::Leaf(1),
        Tree::Boxed(Box::new(Tree::Node(vec![Tree::Leaf(2), Tree::Leaf(3)]))),
    ]);
    q.send(&tree).unwrap();
    let mut count = Count::default();
    q.recv().unwrap().dispatch(&mut count);
    assert_eq!(count.0, 3);
}

#[test]
fn raw_field_names_are_fingerprinted_without_their_r_hash() {
    // docs/WIRE.md, section 5.1: names as declared, without `r#`.
    let raw = TestQueue::new();
    raw.typed::<awkward::Raw>()
        .send(awkward::Raw::Job { r#type: 7 })
        .unwrap();
    let body = raw.try_recv(ipcq::Selector::Any).unwrap().unwrap().body;
    let expected = ipcq::fingerprint("Job{type:u8}");
    assert_eq!(body[2..6], expected.to_le_bytes());
}

#[test]
fn a_derive_in_a_module_without_prelude_works() {
    use without_prelude::Plain;
    let raw = TestQueue::new();
    let q = raw.typed::<Plain>();
    q.send(Plain::Typed("t".into())).unwrap();
    q.send(Plain::Text(42)).unwrap();
    q.send(Plain::Bytes(*b"abcd")).unwrap();
    let got: Vec<Plain> = q.try_iter().map(Result::unwrap).collect();
    assert_eq!(
        format!("{got:?}"),
        r#"[Typed("t"), Text(42), Bytes([97, 98, 99, 100])]"#
    );
    let _ = awkward::Legacy::Job_Done;
}

#[test]
fn an_enum_written_by_a_macro_travels() {
    use awkward::FromMacro;
    let raw = TestQueue::new();
    let q = raw.typed::<FromMacro>();
    let sent = [
        FromMacro::Ping,
        FromMacro::Job {
            id: 7,
            path: "/srv/job".into(),
        },
        FromMacro::Note("made by a macro".into()),
        FromMacro::Blob(vec![0, 255]),
    ];
    for msg in &sent {
        q.send(msg).unwrap();
    }
    let got: Vec<FromMacro> = q.try_iter().map(Result::unwrap).collect();
    assert_eq!(got, sent);
}

#[test]
fn a_raw_enum_name_with_self_in_a_field_travels() {
    use awkward::r#Loop;
    let raw = TestQueue::new();
    let q = raw.typed::<r#Loop>();
    let msg = r#Loop::Again(Some(Box::new(r#Loop::Once(3))));
    q.send(&msg).unwrap();
    assert_eq!(q.recv().unwrap(), msg);
}

#[test]
fn variants_named_like_kind_functions_keep_their_mtypes_and_names() {
    use awkward::{Field, FieldKind};
    let expected = [
        (FieldKind::id, 1, "id"),
        (FieldKind::name, 9, "name"),
        (FieldKind::mtype, 10, "mtype"),
        (FieldKind::from_mtype, 11, "from_mtype"),
    ];
    assert_eq!(<FieldKind as MessageKind>::ALL.len(), expected.len());
    for (kind, mtype, name) in expected {
        assert_eq!(MessageKind::mtype(kind), mtype);
        assert_eq!(kind.mtype(), mtype);
        assert_eq!(i64::from(kind), mtype);
        assert_eq!(MessageKind::name(kind), name);
        assert_eq!(kind.to_string(), name);
        assert_eq!(<FieldKind as MessageKind>::from_mtype(mtype), Some(kind));
    }
    assert!(FieldKind::id < FieldKind::from_mtype);
    let raw = TestQueue::new();
    let q = raw.typed::<Field>();
    q.send(Field::mtype(5)).unwrap();
    q.send(Field::name).unwrap();
    assert_eq!(q.recv_kind(FieldKind::name).unwrap(), Field::name);
    assert_eq!(q.recv().unwrap(), Field::mtype(5));
}

/// More fields than serde has tuples for (16): the derive nests them, and
/// bincode writes the fields one after the other all the same.
#[derive(QueueMessage, Debug, Clone, PartialEq)]
enum Wide {
    Tuple(
        u8,
        u16,
        u32,
        u64,
        i8,
        i16,
        i32,
        i64,
        bool,
        char,
        String,
        Vec<u8>,
        Option<u8>,
        f32,
        f64,
        u128,
        i128,
    ),
    Struct {
        f01: u16,
        f02: u16,
        f03: u16,
        f04: u16,
        f05: u16,
        f06: u16,
        f07: u16,
        f08: u16,
        f09: u16,
        f10: u16,
        f11: u16,
        f12: u16,
        f13: u16,
        f14: u16,
        f15: u16,
        f16: u16,
        f17: u16,
        f18: u16,
        f19: u16,
        f20: String,
    },
}

#[test]
fn a_variant_of_more_than_sixteen_fields_travels_field_after_field() {
    let raw = TestQueue::new();
    let q = TypedQueue::<Wide>::from_queue((*raw).clone());
    let tuple = Wide::Tuple(
        1,
        300,
        70_000,
        1 << 40,
        -1,
        -300,
        -70_000,
        -(1 << 40),
        true,
        'é',
        "seventeen".into(),
        vec![1, 2, 3],
        Some(9),
        1.5,
        -2.25,
        u128::MAX,
        i128::MIN,
    );
    let Wide::Tuple(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p, r) = &tuple else {
        unreachable!()
    };
    let config = bincode::config::standard();
    let mut expected = Vec::new();
    // Sixteen at a time, as serde's tuples go.
    expected.extend(
        bincode::serde::encode_to_vec((a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p), config)
            .unwrap(),
    );
    expected.extend(bincode::serde::encode_to_vec(r, config).unwrap());
    q.send(&tuple).unwrap();
    let sent = raw.try_recv(ipcq::Selector::Any).unwrap().unwrap();
    assert_eq!(&sent.body[ipcq::HEADER_LEN..], &expected[..]);
    raw.send(sent.mtype, &sent.body).unwrap();
    assert_eq!(q.recv().unwrap(), tuple);

    let wide = Wide::Struct {
        f01: 1,
        f02: 2,
        f03: 3,
        f04: 4,
        f05: 5,
        f06: 6,
        f07: 7,
        f08: 8,
        f09: 9,
        f10: 10,
        f11: 11,
        f12: 12,
        f13: 13,
        f14: 14,
        f15: 15,
        f16: 16,
        f17: 17,
        f18: 18,
        f19: 1000,
        f20: "twenty".into(),
    };
    q.send(&wide).unwrap();
    let sent = raw.try_recv(ipcq::Selector::Any).unwrap().unwrap();
    let mut expected: Vec<u8> = (1..=18).collect();
    expected.extend([251, 0xe8, 0x03, 6]);
    expected.extend(b"twenty");
    assert_eq!(&sent.body[ipcq::HEADER_LEN..], &expected[..]);
    raw.send(sent.mtype, &sent.body).unwrap();
    assert_eq!(q.recv().unwrap(), wide);
}
