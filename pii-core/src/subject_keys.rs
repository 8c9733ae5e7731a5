//! Subject keys kept in a key store (feature `open`, `docs/erasure.md` §4): the interface a
//! store implements ([`KeyStore`]: four operations), an in-memory store for tests and examples
//! ([`MemoryKeyStore`]), and [`SubjectKeys`], which rewraps, opens, tokenizes and forgets with
//! them. The Python package's `pii_edge.erasure.SubjectKeys` and the Node package's
//! `SubjectKeys` are the same design over SQLite and PostgreSQL.
//!
//! pii-core does no I/O: a store that talks to a database implements [`KeyStore`] in the
//! application's crate (a DynamoDB store: docs/erasure.md §4). A store never sees a subject
//! key, only its wrapped `psk1.` text.
//!
//! ```
//! use pii_core::envelope::{Binding, TestSealer, ValueKind};
//! use pii_core::subject_keys::{MemoryKeyStore, SubjectKeys, SubjectKeysError};
//! use pii_core::at_rest::AtRestError;
//! use pii_core::{Location, token::Normalize, location::Part, keys::PrivateKey, PrivateKeyring};
//! let mut keys = PrivateKeyring::new();
//! keys.push(PrivateKey::generate("eu-central", "eu-central-1", 1)?);
//! let mut edge = TestSealer::new(&keys.public().recipients("eu-central")?, "eu-central")?;
//! let at = Binding::new("signup", "eu-central", Location::field(Part::Header, "x-email", 0));
//! let sealed = edge.seal(&at, ValueKind::Text, b"alice@example.com")?;
//!
//! let subjects = SubjectKeys::new(MemoryKeyStore::default(), &keys, "eu-central");
//! let now = 1_767_225_600;
//! let steps = [Normalize::Trim, Normalize::Casefold];
//! let (stored, token) = subjects.rewrap_with_token("user-42", &sealed, "email", &steps, now)?;
//! assert_eq!(subjects.open(&stored)?.plaintext(), b"alice@example.com");
//! assert_eq!(subjects.token("user-42", "email", &steps, b"Alice@example.com")?, Some(token));
//!
//! let gone = subjects.forget("user-42", now + 60)?.expect("had a key");
//! assert!(matches!(subjects.open(&stored), Err(SubjectKeysError::AtRest(AtRestError::Erased))));
//! assert_eq!(subjects.token("user-42", "email", &steps, b"alice@example.com")?, None);
//! assert_eq!(gone.erased_at, now + 60);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::at_rest::{self, AtRestError, Opened, SubjectKey};
use crate::keys::PrivateKeyring;
use crate::token::Normalize;

/// One subject key as a store holds it (docs/erasure.md §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The key id, primary key (22 characters of base64url).
    pub key_id: String,
    /// The data subject; at most one live record per subject.
    pub subject: String,
    /// Creation time, unix seconds.
    pub created: u64,
    /// The `psk1.` text (the key HPKE-sealed to the region's key); `None` once erased.
    pub wrapped: Option<String>,
    /// Unix seconds of the erasure; `None` while the key lives.
    pub erased_at: Option<u64>,
}

/// A key store's own failure (a lost connection, a refused write): its message, never a key.
#[derive(Debug)]
pub struct StoreError(Box<dyn std::error::Error + Send + Sync>);

impl StoreError {
    /// Wraps the store's error.
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError(error.into())
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key store: {}", self.0)
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// What a key store does: four operations, each one statement or one item operation
/// (docs/erasure.md §4 gives the SQL and a DynamoDB design). `&self`: a store shares its
/// connection (pool) between callers.
pub trait KeyStore {
    /// The subject's live record, if any.
    fn live(&self, subject: &str) -> Result<Option<KeyRecord>, StoreError>;
    /// The record of `key_id`, live or erased, if any.
    fn get(&self, key_id: &str) -> Result<Option<KeyRecord>, StoreError>;
    /// Stores a new live record; when the subject already has one (a concurrent create),
    /// keeps that one and returns it.
    fn create(&self, record: KeyRecord) -> Result<KeyRecord, StoreError>;
    /// Erases the subject's live record (drops `wrapped`, sets `erased_at`) and returns it;
    /// `None` when the subject has no live record. The record stays, so that a field naming
    /// it says `Erased` rather than `NoKey`.
    fn destroy(&self, subject: &str, erased_at: u64) -> Result<Option<KeyRecord>, StoreError>;
}

/// A [`KeyStore`] in memory, for tests and examples: nothing survives the process, which is
/// not what a key store is for.
#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    records: Mutex<HashMap<String, KeyRecord>>,
}

impl MemoryKeyStore {
    fn records(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, KeyRecord>>, StoreError> {
        self.records
            .lock()
            .map_err(|_| StoreError::new("a thread panicked while holding the store"))
    }
}

fn live_of<'a>(
    records: &'a mut HashMap<String, KeyRecord>,
    subject: &str,
) -> Option<&'a mut KeyRecord> {
    records
        .values_mut()
        .find(|r| r.subject == subject && r.erased_at.is_none())
}

impl KeyStore for MemoryKeyStore {
    fn live(&self, subject: &str) -> Result<Option<KeyRecord>, StoreError> {
        let mut records = self.records()?;
        Ok(live_of(&mut records, subject).map(|r| r.clone()))
    }
    fn get(&self, key_id: &str) -> Result<Option<KeyRecord>, StoreError> {
        Ok(self.records()?.get(key_id).cloned())
    }
    fn create(&self, record: KeyRecord) -> Result<KeyRecord, StoreError> {
        let mut records = self.records()?;
        if let Some(live) = live_of(&mut records, &record.subject) {
            return Ok(live.clone());
        }
        records.insert(record.key_id.clone(), record.clone());
        Ok(record)
    }
    fn destroy(&self, subject: &str, erased_at: u64) -> Result<Option<KeyRecord>, StoreError> {
        let mut records = self.records()?;
        Ok(live_of(&mut records, subject).map(|r| {
            r.wrapped = None;
            r.erased_at = Some(erased_at);
            r.clone()
        }))
    }
}

/// Why a [`SubjectKeys`] call failed: the store, or the format (`Erased`, `NoKey`, ...).
#[derive(Debug)]
#[non_exhaustive]
pub enum SubjectKeysError {
    /// The key store failed.
    Store(StoreError),
    /// Rewrapping, opening or tokenizing failed (docs/at-rest.md §5).
    AtRest(AtRestError),
}

impl fmt::Display for SubjectKeysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectKeysError::Store(e) => e.fmt(f),
            SubjectKeysError::AtRest(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for SubjectKeysError {}

impl From<StoreError> for SubjectKeysError {
    fn from(e: StoreError) -> Self {
        SubjectKeysError::Store(e)
    }
}

impl From<AtRestError> for SubjectKeysError {
    fn from(e: AtRestError) -> Self {
        SubjectKeysError::AtRest(e)
    }
}

/// What [`SubjectKeys::forget`] destroyed: sign an erasure receipt of it
/// ([`crate::erasure::sign`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Forgotten {
    /// The data subject.
    pub subject: String,
    /// The destroyed key's id.
    pub key_id: String,
    /// Unix seconds of the erasure.
    pub erased_at: u64,
}

/// Rewrap, open, tokenize and forget with subject keys kept in `store`, wrapped to the newest
/// key of `zone` in the region's keyring.
///
/// Unwrapping a key from the store costs one X25519 operation (about 50 µs); unwrapped keys
/// are cached, like the Python and Node packages' `SubjectKeys` do: at most
/// [`DEFAULT_CACHE_SIZE`] keys, each for at most [`DEFAULT_CACHE_AGE`] (see
/// [`SubjectKeys::with_cache`]). [`SubjectKeys::forget`] evicts the key from this object's
/// cache at once; another process that cached it stops using it within its cache age
/// (docs/erasure.md §3). The store is still read on every call that looks a key up (a
/// `forget` elsewhere shows at once where the store is asked first: `token`, `key_for`).
#[derive(Debug)]
pub struct SubjectKeys<'k, S> {
    store: S,
    keys: &'k PrivateKeyring,
    zone: String,
    cache: Mutex<KeyCache>,
}

/// Keys kept unwrapped by one [`SubjectKeys`] unless [`SubjectKeys::with_cache`] says otherwise.
pub const DEFAULT_CACHE_SIZE: usize = 1024;
/// How long one [`SubjectKeys`] keeps a key unwrapped unless [`SubjectKeys::with_cache`] says
/// otherwise.
pub const DEFAULT_CACHE_AGE: Duration = Duration::from_secs(60);

/// Unwrapped subject keys by key id, each with the time it was unwrapped. Keys are wiped when
/// the last `Arc` drops.
#[derive(Debug)]
struct KeyCache {
    keys: HashMap<String, (Arc<SubjectKey>, Instant)>,
    size: usize,
    age: Duration,
}

impl KeyCache {
    fn get(&mut self, key_id: &str) -> Option<Arc<SubjectKey>> {
        let (key, at) = self.keys.get(key_id)?;
        if at.elapsed() >= self.age {
            self.keys.remove(key_id);
            return None;
        }
        Some(Arc::clone(key))
    }

    fn put(&mut self, key: Arc<SubjectKey>) -> Arc<SubjectKey> {
        if self.size == 0 || self.age.is_zero() {
            return key;
        }
        if self.keys.len() >= self.size {
            // Expired keys first, then the oldest.
            let age = self.age;
            self.keys.retain(|_, (_, at)| at.elapsed() < age);
            if self.keys.len() >= self.size {
                let oldest = self
                    .keys
                    .iter()
                    .min_by_key(|(_, (_, at))| *at)
                    .map(|(id, _)| id.clone());
                if let Some(id) = oldest {
                    self.keys.remove(&id);
                }
            }
        }
        self.keys
            .insert(key.key_id(), (Arc::clone(&key), Instant::now()));
        key
    }
}

impl<'k, S: KeyStore> SubjectKeys<'k, S> {
    /// Subject keys in `store`, wrapped to `zone`'s key in `keys`, with the default cache.
    pub fn new(store: S, keys: &'k PrivateKeyring, zone: &str) -> Self {
        SubjectKeys {
            store,
            keys,
            zone: zone.to_owned(),
            cache: Mutex::new(KeyCache {
                keys: HashMap::new(),
                size: DEFAULT_CACHE_SIZE,
                age: DEFAULT_CACHE_AGE,
            }),
        }
    }

    /// Keep at most `size` keys unwrapped, each for at most `age`; `0` or [`Duration::ZERO`]
    /// turns the cache off (every call unwraps from the store, and a `forget` in another
    /// process shows at once).
    ///
    /// ```
    /// use std::time::Duration;
    /// use pii_core::subject_keys::{MemoryKeyStore, SubjectKeys};
    /// use pii_core::PrivateKeyring;
    /// let keys = PrivateKeyring::new();
    /// let subjects = SubjectKeys::new(MemoryKeyStore::default(), &keys, "eu-central")
    ///     .with_cache(256, Duration::from_secs(10));
    /// # let _ = subjects;
    /// ```
    pub fn with_cache(self, size: usize, age: Duration) -> Self {
        SubjectKeys {
            cache: Mutex::new(KeyCache {
                keys: HashMap::new(),
                size,
                age,
            }),
            ..self
        }
    }

    fn cached(&self, key_id: &str) -> Option<Arc<SubjectKey>> {
        self.cache.lock().ok()?.get(key_id)
    }

    fn remember(&self, key: SubjectKey) -> Arc<SubjectKey> {
        let key = Arc::new(key);
        match self.cache.lock() {
            Ok(mut cache) => cache.put(key),
            Err(_) => key,
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The subject's live key, created at `now` (unix seconds) and stored wrapped when it has
    /// none.
    pub fn key_for(&self, subject: &str, now: u64) -> Result<Arc<SubjectKey>, SubjectKeysError> {
        if let Some(record) = self.store.live(subject)? {
            return self.unwrap(&record);
        }
        let key = SubjectKey::generate(subject, now)?;
        let record = self.store.create(KeyRecord {
            key_id: key.key_id(),
            subject: subject.to_owned(),
            created: now,
            wrapped: Some(key.wrap(self.keys, &self.zone)?),
            erased_at: None,
        })?;
        if record.key_id == key.key_id() {
            return Ok(self.remember(key));
        }
        self.unwrap(&record)
    }

    /// The record's key: from the cache, else unwrapped (and cached).
    fn unwrap(&self, record: &KeyRecord) -> Result<Arc<SubjectKey>, SubjectKeysError> {
        let wrapped = record.wrapped.as_deref().ok_or(AtRestError::Erased)?;
        if let Some(key) = self
            .cached(&record.key_id)
            .filter(|k| k.subject() == record.subject)
        {
            return Ok(key);
        }
        Ok(self.remember(SubjectKey::unwrap(self.keys, wrapped)?))
    }

    /// The edge's envelope sealed under `subject`'s key ([`at_rest::rewrap`]).
    pub fn rewrap(
        &self,
        subject: &str,
        envelope: &str,
        now: u64,
    ) -> Result<String, SubjectKeysError> {
        let key = self.key_for(subject, now)?;
        Ok(at_rest::rewrap(self.keys, envelope, &key)?)
    }

    /// [`rewrap`](Self::rewrap) and the per-subject token of the same value
    /// ([`at_rest::rewrap_with_token`]): `(field, token)`.
    pub fn rewrap_with_token(
        &self,
        subject: &str,
        envelope: &str,
        domain: &str,
        normalize: &[Normalize],
        now: u64,
    ) -> Result<(String, String), SubjectKeysError> {
        let key = self.key_for(subject, now)?;
        Ok(at_rest::rewrap_with_token(
            self.keys, envelope, &key, domain, normalize,
        )?)
    }

    /// The per-subject token of `value` under `subject`'s live key, for a lookup; `None` when
    /// the subject has none (never stored, or forgotten): nothing stored can match. Never
    /// creates a key.
    pub fn token(
        &self,
        subject: &str,
        domain: &str,
        normalize: &[Normalize],
        value: &[u8],
    ) -> Result<Option<String>, SubjectKeysError> {
        match self.store.live(subject)? {
            None => Ok(None),
            Some(record) => Ok(Some(self.unwrap(&record)?.token(domain, normalize, value)?)),
        }
    }

    /// The subject key a field at rest names: [`AtRestError::Erased`] when the store says it
    /// was destroyed, [`AtRestError::NoKey`] when it has no record of it (or one of another
    /// subject).
    pub fn key_of(&self, text: &str) -> Result<Arc<SubjectKey>, SubjectKeysError> {
        let head = at_rest::header(text)?;
        if let Some(key) = self
            .cached(&head.key_id)
            .filter(|k| k.subject() == head.subject)
        {
            return Ok(key);
        }
        match self.store.get(&head.key_id)? {
            Some(record) if record.subject == head.subject => self.unwrap(&record),
            _ => Err(AtRestError::NoKey.into()),
        }
    }

    /// Opens a field at rest (`pr1.`) with its subject key from the store. A `pe2.` envelope
    /// opens with [`crate::envelope::open`] and the keyring.
    pub fn open(&self, text: &str) -> Result<Opened, SubjectKeysError> {
        let key = self.key_of(text)?;
        Ok(at_rest::open(&key, text)?)
    }

    /// Destroys `subject`'s key at `erased_at` (unix seconds): every field sealed under it,
    /// wherever it was copied, fails with `Erased` from now on (in this object at once; in
    /// another that cached the key, within its cache age). `None` when the subject had no
    /// live key. Sign the receipt with [`crate::erasure::sign`].
    pub fn forget(
        &self,
        subject: &str,
        erased_at: u64,
    ) -> Result<Option<Forgotten>, SubjectKeysError> {
        let destroyed = self.store.destroy(subject, erased_at)?;
        if let Ok(mut cache) = self.cache.lock() {
            // Also any key of the subject this object cached (one destroyed earlier elsewhere).
            cache.keys.retain(|_, (key, _)| key.subject() != subject);
        }
        Ok(destroyed.map(|r| Forgotten {
            subject: r.subject,
            key_id: r.key_id,
            erased_at,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{Binding, TestSealer, ValueKind};
    use crate::keys::PrivateKey;
    use crate::location::{Location, Part};

    /// A store that counts what it is asked, over a memory store.
    #[derive(Default)]
    struct Counting {
        inner: MemoryKeyStore,
        gets: std::sync::atomic::AtomicUsize,
    }

    impl KeyStore for &Counting {
        fn live(&self, subject: &str) -> Result<Option<KeyRecord>, StoreError> {
            self.inner.live(subject)
        }
        fn get(&self, key_id: &str) -> Result<Option<KeyRecord>, StoreError> {
            self.gets.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.inner.get(key_id)
        }
        fn create(&self, record: KeyRecord) -> Result<KeyRecord, StoreError> {
            self.inner.create(record)
        }
        fn destroy(&self, subject: &str, erased_at: u64) -> Result<Option<KeyRecord>, StoreError> {
            self.inner.destroy(subject, erased_at)
        }
    }

    fn keyring() -> PrivateKeyring {
        let mut keys = PrivateKeyring::new();
        keys.push(PrivateKey::generate("eu-central", "eu-central-1", 1).expect("key"));
        keys
    }

    fn sealed_field(keys: &PrivateKeyring) -> String {
        let mut edge = TestSealer::new(
            &keys.public().recipients("eu-central").expect("r"),
            "eu-central",
        )
        .expect("sealer");
        let at = Binding::new(
            "signup",
            "eu-central",
            Location::field(Part::Header, "x-email", 0),
        );
        edge.seal(&at, ValueKind::Text, b"a@b.c").expect("seal")
    }

    #[test]
    fn cached_keys_open_without_the_store_until_forget_evicts_them() {
        let keys = keyring();
        let sealed = sealed_field(&keys);
        let store = Counting::default();
        let writer = SubjectKeys::new(&store, &keys, "eu-central");
        let field = writer.rewrap("s-1", &sealed, 10).expect("rewrap");
        // The writer created the key: it is cached, the store is not asked to open.
        for _ in 0..3 {
            assert_eq!(writer.open(&field).expect("open").plaintext(), b"a@b.c");
        }
        assert_eq!(store.gets.load(std::sync::atomic::Ordering::Relaxed), 0);
        // Another service without a cache asks the store every time.
        let reader = SubjectKeys::new(&store, &keys, "eu-central").with_cache(0, DEFAULT_CACHE_AGE);
        reader.open(&field).expect("open");
        reader.open(&field).expect("open");
        assert_eq!(store.gets.load(std::sync::atomic::Ordering::Relaxed), 2);
        // forget evicts at once in the object that forgets, and the reader sees the store.
        writer.forget("s-1", 20).expect("forget").expect("had one");
        for service in [&writer, &reader] {
            assert!(matches!(
                service.open(&field),
                Err(SubjectKeysError::AtRest(AtRestError::Erased))
            ));
        }
    }

    #[test]
    fn a_cache_keeps_at_most_its_size_and_age() {
        let keys = keyring();
        let sealed = sealed_field(&keys);
        let store = Counting::default();
        let small = SubjectKeys::new(&store, &keys, "eu-central").with_cache(2, DEFAULT_CACHE_AGE);
        let fields: Vec<String> = (0..3)
            .map(|i| {
                small
                    .rewrap(&format!("s-{i}"), &sealed, 10)
                    .expect("rewrap")
            })
            .collect();
        assert_eq!(small.cache.lock().expect("lock").keys.len(), 2);
        for f in &fields {
            small.open(f).expect("open");
        }
        assert!(store.gets.load(std::sync::atomic::Ordering::Relaxed) >= 1);
        let brief = SubjectKeys::new(&store, &keys, "eu-central").with_cache(8, Duration::ZERO);
        brief.open(&fields[0]).expect("open");
        assert!(brief.cache.lock().expect("lock").keys.is_empty());
    }

    #[test]
    fn forget_erases_one_subject_and_a_new_key_follows() {
        let keys = keyring();
        let sealed = sealed_field(&keys);
        let subjects = SubjectKeys::new(MemoryKeyStore::default(), &keys, "eu-central");
        let one = subjects.rewrap("s-1", &sealed, 10).expect("rewrap");
        let two = subjects.rewrap("s-2", &sealed, 10).expect("rewrap");
        let first = at_rest::header(&one).expect("h").key_id;
        assert_eq!(
            subjects.key_for("s-1", 11).expect("k").key_id(),
            first,
            "one live key per subject"
        );
        let gone = subjects
            .forget("s-1", 20)
            .expect("forget")
            .expect("had one");
        assert_eq!(gone.key_id, first);
        assert!(subjects.forget("s-1", 21).expect("forget").is_none());
        let record = subjects.store().get(&first).expect("get").expect("kept");
        assert_eq!((record.wrapped, record.erased_at), (None, Some(20)));
        assert!(matches!(
            subjects.open(&one),
            Err(SubjectKeysError::AtRest(AtRestError::Erased))
        ));
        assert_eq!(subjects.open(&two).expect("open").plaintext(), b"a@b.c");
        let again = subjects.rewrap("s-1", &sealed, 30).expect("rewrap");
        assert_ne!(at_rest::header(&again).expect("h").key_id, first);
        assert!(matches!(
            subjects.open(&one),
            Err(SubjectKeysError::AtRest(AtRestError::Erased))
        ));
        let stranger = at_rest::rewrap(&keys, &sealed, &SubjectKey::generate("s-1", 1).expect("k"))
            .expect("rewrap");
        assert!(matches!(
            subjects.open(&stranger),
            Err(SubjectKeysError::AtRest(AtRestError::NoKey))
        ));
    }
}
