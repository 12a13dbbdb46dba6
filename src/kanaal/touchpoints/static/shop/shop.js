/* The demo shop's own script: cart, e-commerce events and checkout, through window.kanaal. */
(function (w, d) {
  'use strict';
  var k = w.kanaal;
  var page = d.body.getAttribute('data-kanaal-page');
  function $(id) { return d.getElementById(id); }
  function cart() { return k.cart() || { value: '0.00', currency: 'EUR', items: [] }; }
  function total(items) {
    return items.reduce(function (sum, i) { return sum + Number(i.price) * i.quantity; }, 0).toFixed(2);
  }
  function save(items) { k.setCart({ value: total(items), currency: 'EUR', items: items }); count(); }
  function count() {
    $('cart-count').textContent = String(cart().items.reduce(function (n, i) { return n + i.quantity; }, 0));
  }
  count();
  $('open-chat').addEventListener('click', function () { k.openChat(); });

  if (page === 'product') {
    var button = $('add-to-cart');
    var product = { product_id: button.dataset.sku, sku: button.dataset.sku, name: button.dataset.name,
      price: Number(button.dataset.price), currency: button.dataset.currency };
    k.track('Product Viewed', product);
    button.addEventListener('click', function () {
      var quantity = Math.max(1, Math.min(10, parseInt($('quantity').value, 10) || 1));
      var items = cart().items.slice();
      var line = items.filter(function (i) { return i.sku === product.sku; })[0];
      if (line) { line.quantity += quantity; } else {
        items.push({ sku: product.sku, name: product.name, quantity: quantity, price: product.price.toFixed(2) });
      }
      k.track('Product Added', { product_id: product.sku, sku: product.sku, name: product.name,
        price: product.price, currency: product.currency, quantity: quantity });
      save(items);
      $('added').textContent = 'Added to your cart.';
    });
  }

  if (page === 'cart') {
    var c = cart();
    var body = $('cart-lines');
    c.items.forEach(function (i) {
      var tr = d.createElement('tr');
      [i.name || i.sku, String(i.quantity), 'EUR ' + i.price].forEach(function (text) {
        var td = d.createElement('td'); td.textContent = text; tr.appendChild(td);
      });
      body.appendChild(tr);
    });
    $('cart-total').textContent = 'EUR ' + total(c.items);
    k.track('Cart Viewed', { value: Number(total(c.items)), currency: 'EUR' });
    $('empty-cart').addEventListener('click', function () { save([]); w.location.reload(); });
  }

  if (page === 'checkout') {
    var order = cart();
    k.track('Checkout Started', { value: Number(total(order.items)), currency: 'EUR' });
    var result = $('offer-result');
    $('apply-code').addEventListener('click', function () {
      var code = $('offer-code').value.trim();
      if (!code) { return; }
      k.validateOffer(code).then(function (offer) {
        result.textContent = 'Code ' + offer.code + ': ' + offer.discount_percent + '% off.';
      }, function (err) { result.textContent = 'This code cannot be used: ' + err.message; });
    });
    $('checkout-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var error = $('checkout-error');
      error.textContent = '';
      var email = $('email').value.trim();
      var card = $('card').value.replace(/\s/g, '');
      if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) { error.textContent = 'Please enter your e-mail address.'; return; }
      if (!/^[0-9]{12,19}$/.test(card) || card === '4000000000000002') {
        error.textContent = 'Your payment was declined. Please check your card.';
        k.checkoutError('card_declined');
        return;
      }
      k.identify({ email: email });
      k.track('Order Completed', { order_id: 'demo-' + Date.now(), revenue: Number(total(order.items)),
        currency: 'EUR', coupon: $('offer-code').value.trim() || undefined,
        products: order.items.map(function (i) { return { sku: i.sku, quantity: i.quantity, price: Number(i.price) }; }) });
      k.flush();
      save([]);
      $('checkout-form').hidden = true;
      $('order-done').textContent = 'Thank you for your order!';
    });
  }
}(window, document));
