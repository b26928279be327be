//! Planned unit properties as D-Bus variants. systemd checks each property's signature and
//! refuses a mismatch ("Invalid argument"), so the variant's signature is part of the contract.

use zbus::zvariant::Value;

use crate::unit::{Property, PropertyValue};

/// A planned property value as a variant of the signature systemd expects for it.
pub fn to_value(v: &PropertyValue) -> Value<'static> {
    match v {
        PropertyValue::Str(s) => Value::from(s.clone()),
        PropertyValue::Bool(b) => Value::from(*b),
        PropertyValue::I32(i) => Value::from(*i),
        PropertyValue::U64(u) => Value::from(*u),
        // Vec<T> carries T's signature even when empty, so `PIDs = []` is still "au".
        PropertyValue::U32s(list) => Value::from(list.clone()),
        PropertyValue::Bytes(bytes) => Value::from(bytes.clone()),
        PropertyValue::Devices(devices) => Value::from(devices.clone()),
        PropertyValue::DeviceLimits(limits) => Value::from(limits.clone()),
    }
}

/// The `a(sv)` argument of StartTransientUnit and SetUnitProperties.
pub(super) fn to_dbus(props: &[Property]) -> Vec<(&'static str, Value<'static>)> {
    props.iter().map(|p| (p.name, to_value(&p.value))).collect()
}

#[cfg(test)]
mod tests {
    use super::super::proxies::{AuxUnits, Properties};
    use super::*;
    use zbus::zvariant::serialized::Context;
    use zbus::zvariant::{to_bytes, Type, LE};

    /// The signature a variant carries on the wire: D-Bus writes a variant as its signature
    /// (length byte, characters, NUL) followed by the value.
    fn wire_signature(value: &Value<'_>) -> String {
        let bytes = to_bytes(Context::new_dbus(LE, 0), value).unwrap();
        let len = usize::from(bytes[0]);
        String::from_utf8(bytes[1..=len].to_vec()).unwrap()
    }

    #[test]
    fn every_property_value_goes_out_with_systemds_signature() {
        let cases = [
            (PropertyValue::Str("berth-web.slice".into()), "s"),
            (PropertyValue::Bool(true), "b"),
            (PropertyValue::I32(15), "i"),
            (PropertyValue::U64(u64::MAX), "t"),
            (PropertyValue::U32s(vec![1, 42]), "au"),
            (PropertyValue::U32s(vec![]), "au"),
            (PropertyValue::Bytes(vec![0x0f, 0x02]), "ay"),
            (
                PropertyValue::Devices(vec![("/dev/null".into(), "rwm".into())]),
                "a(ss)",
            ),
            (PropertyValue::Devices(vec![]), "a(ss)"),
            (
                PropertyValue::DeviceLimits(vec![("/dev/vda".into(), 10 << 20)]),
                "a(st)",
            ),
            (PropertyValue::DeviceLimits(vec![]), "a(st)"),
        ];
        for (value, signature) in cases {
            assert_eq!(value.signature(), signature, "{value:?}");
            let dbus = to_value(&value);
            assert_eq!(wire_signature(&dbus), signature, "{value:?}");
            // And what goes out comes back as the same value.
            let bytes = to_bytes(Context::new_dbus(LE, 0), &dbus).unwrap();
            let (back, _): (Value<'_>, _) = bytes.deserialize().unwrap();
            assert_eq!(back, dbus, "{value:?}");
        }
    }

    #[test]
    fn method_arguments_have_systemds_signatures() {
        assert_eq!(<Properties<'_> as Type>::SIGNATURE.to_string(), "a(sv)");
        assert_eq!(<AuxUnits<'_> as Type>::SIGNATURE.to_string(), "a(sa(sv))");
        let props = to_dbus(&[Property {
            name: "TasksMax",
            value: PropertyValue::U64(64),
        }]);
        assert_eq!(props, [("TasksMax", Value::U64(64))]);
    }
}
