# protons 9 emits code for protons-runtime 7 (Codec<T>); the project pins runtime 8 (Codec<D, E>).
for f in "$@"; do
  sed -i -E 's/Codec<([A-Za-z]+)>/Codec<\1, \1>/g; s/message<([A-Za-z]+)>\(/message<\1, \1>(/g; s/enumeration<([A-Za-z]+)>\(/enumeration<\1>(/g' "$f"
done
for f in "$@"; do
  sed -i -E 's/encodeMessage\(obj, ([A-Za-z]+)\.codec\(\)\)/encodeMessage(obj as \1, \1.codec())/g; s/([A-Za-z]+)\.codec\(\)\.stream\(reader\)$/\1.codec().decode(reader)/g' "$f"
done
