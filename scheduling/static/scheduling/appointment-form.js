/* Appointment form: once a customer is chosen, the vehicle search offers that customer's cars only.
 *
 * Django's autocomplete sends a fixed set of parameters; this adds `customer` to each vehicle search the
 * form makes (the server filters on it, see scheduling.views.BookingAutocompleteView). The customer is the
 * one picked in the customer field, or, on an existing appointment whose customer is fixed, the one the
 * server wrote on the vehicle field (data-customer). Booking refuses another customer's vehicle anyway. */
'use strict';
{
    const $ = django.jQuery;

    function chosenCustomer() {
        const picker = document.getElementById('id_customer');
        if (picker) {
            return picker.value;
        }
        const vehicle = document.getElementById('id_vehicle');
        return vehicle ? vehicle.dataset.customer || '' : '';
    }

    $.ajaxPrefilter(function(options, originalOptions) {
        const sent = originalOptions.data;
        if (!sent || sent.model_name !== 'appointment' || sent.field_name !== 'vehicle') {
            return;
        }
        const customer = chosenCustomer();
        if (customer) {
            options.data = (options.data ? options.data + '&' : '') + 'customer=' + encodeURIComponent(customer);
        }
    });

    $(function() {
        // Another customer: the vehicle picked for the previous one no longer fits.
        $('#id_customer').on('change', function() {
            const vehicle = $('#id_vehicle');
            if (vehicle.val()) {
                vehicle.val(null).trigger('change');
            }
        });
    });

    // The clock's shortcuts ("Now", "Noon"...) write seconds; bookings are to the minute, like the field.
    window.addEventListener('load', function() {
        const shortcuts = window.DateTimeShortcuts;
        if (!shortcuts || typeof shortcuts.handleClockQuicklink !== 'function') {
            return;
        }
        const original = shortcuts.handleClockQuicklink;
        shortcuts.handleClockQuicklink = function(num, val) {
            original.call(this, num, val);
            const input = shortcuts.clockInputs && shortcuts.clockInputs[num];
            if (input) {
                input.value = input.value.replace(/^(\d{1,2}:\d{2}):\d{2}(\.\d+)?$/, '$1');
            }
        };
    });
}
