#!/usr/bin/env python3
"""Writes the rule cases of this folder from one valid order (bench/testdata/validate-order-valid.json).
Each case is <rule-id>.<valid|invalid>[-variant].json; rules_test.go checks every file and keeps the
expected violations of the invalid ones in <file>.want (refreshed with go test -update, reviewed)."""
import copy, json, os

here = os.path.dirname(os.path.abspath(__file__))
base = json.load(open(os.path.join(here, '..', '..', '..', '..', 'bench', 'testdata', 'validate-order-valid.json')))
status = {"orderId": "ord-1", "eventTime": 1574090977000, "updatedStatus": "CANCELED_BY_MERCHANT"}

def case(name, body):
    with open(os.path.join(here, name + '.json'), 'w') as f:
        json.dump(body, f, indent=2)
        f.write('\n')

def order(edit):
    d = copy.deepcopy(base)
    edit(d)
    return d

def move_last(d, key):
    v = d.pop(key)
    d[key] = v

case('base.valid', base)
# 1
case('payment-one-method.invalid', order(lambda d: (
    d['payment'][1].__setitem__('creditCard', copy.deepcopy(d['payment'][0]['creditCard'])),
    d['payment'].append({'amount': {'amountUSD': '0.00'}}))))
# 2
def card(d):
    c = d['payment'][0]['creditCard']
    del c['nameOnCard'], c['bin']
case('card-fields.invalid', order(card))
def wallet(d):
    c = d['payment'][0].pop('creditCard')
    del c['nameOnCard']
    d['payment'][0]['applePay'] = c
case('card-fields.valid-wallet-without-name', order(wallet))
case('card-fields.valid-token-without-bin', order(lambda d: d['payment'][0]['creditCard'].__setitem__('token', d['payment'][0]['creditCard'].pop('bin') and 'tkn-77620C360132856A103477D2959967AB')))
# 3
case('paypal-fields.invalid', order(lambda d: d['payment'][1]['paypal'].pop('payerEmail')))
def payer_id(d):
    p = d['payment'][1]['paypal']
    p['payerID'] = p.pop('payerId')
case('paypal-fields.valid-payerID', order(payer_id))
# 4: authorizationStep after payment in document order, so the rule waits for the end of the document
def post_auth(d):
    d['authorizationStep'] = 'POST_AUTHORIZATION'
    move_last(d, 'authorizationStep')
    d['payment'][0]['creditCard']['verificationResults'].pop('cvvResult')
    d['payment'][1]['paypal'].pop('payerStatus')
case('post-authorization-results.invalid', order(post_auth))
def post_auth_no_vr(d):
    d['authorizationStep'] = 'POST_AUTHORIZATION'
    d['payment'][0]['creditCard'].pop('verificationResults')
case('post-authorization-results.invalid-no-results', order(post_auth_no_vr))
case('post-authorization-results.valid-pre-auth', order(lambda d: d['payment'][0]['creditCard'].pop('verificationResults')))
# 5
case('web-token.invalid', order(lambda d: d['connectionInformation'].pop('forterTokenCookie')))
case('web-token.invalid-null', order(lambda d: d['connectionInformation'].__setitem__('forterTokenCookie', None)))
def ios(d):
    d['orderType'] = 'IOS'
    d['connectionInformation'].pop('forterMobileUID')
    d['connectionInformation'].pop('forterTokenCookie')
case('app-device-id.invalid', order(ios))
case('app-device-id.valid-phone-order', order(lambda d: (d.__setitem__('orderType', 'PHONE'), d.pop('connectionInformation'))))
case('connection-information.invalid', order(lambda d: d['connectionInformation'].pop('userAgent')))
case('connection-information.invalid-missing', order(lambda d: d.pop('connectionInformation')))
# 6
case('billing-details.invalid', order(lambda d: d['payment'][0].pop('billingDetails')))
def split(d):
    d['payment'][1]['billingDetails'] = d['payment'][0].pop('billingDetails')
case('billing-details.valid-split-payment', order(split))
case('billing-details.invalid-city', order(lambda d: d['payment'][0]['billingDetails']['address'].pop('city')))
# 7
case('delivery-details.invalid', order(lambda d: d['primaryDeliveryDetails'].pop('deliveryPrice')))
case('delivery-details.invalid-method', order(lambda d: d['primaryDeliveryDetails'].pop('deliveryMethod')))
def klarna(d):
    bd = d['payment'][0]['billingDetails']
    d['payment'] = [{'amount': {'amountUSD': '99.95'}, 'billingDetails': bd,
                     'digitalWallet': {'digitalWalletName': 'klarna'}}]
    d['primaryDeliveryDetails'].pop('deliveryPrice')
case('delivery-details.valid-klarna', order(klarna))
def other_wallet(d):
    klarna(d)
    d['payment'][0]['digitalWallet']['digitalWalletName'] = 'VENMO'
case('delivery-details.invalid-other-wallet', order(other_wallet))
# 8
case('cart-item-fields.invalid', order(lambda d: d['cartItems'][1]['basicItemData'].pop('quantity')))
# 9
case('money-amount.invalid', order(lambda d: d['payment'][1].__setitem__('amount', {'currency': 'CAD'})))
case('money-currency.invalid', order(lambda d: d['totalAmount'].pop('currency')))
case('money-decimals.invalid', order(lambda d: (d['primaryDeliveryDetails']['deliveryPrice'].__setitem__('amountUSD', '99.955'),
                                               d['primaryDeliveryDetails']['deliveryPrice'].__setitem__('amountLocalCurrency', '20.0001'))))
case('money-decimals.valid-three-local', order(lambda d: d['payment'][1]['amount'].__setitem__('amountLocalCurrency', '20.000')))
# 10
case('no-full-card-number.invalid', order(lambda d: (d['payment'][0].__setitem__('paymentMethodNickname', '4111 1111 1111 1111'),
                                                    d['primaryRecipient']['comments'].__setitem__('merchantComments', '4242-4242-4242-4242'))))
case('no-full-card-number.valid-full-card-field', order(lambda d: d['payment'][0]['creditCard'].__setitem__('fullCreditCard', '4111111111111111')))
case('no-full-card-number.valid-not-luhn', order(lambda d: d['payment'][0].__setitem__('paymentMethodNickname', '4111 1111 1111 1112')))
# 11 (warning)
case('payment-total.invalid', order(lambda d: d['payment'][1]['amount'].__setitem__('amountLocalCurrency', '25.00')))
case('payment-total.invalid-usd', order(lambda d: d['payment'][1]['amount'].__setitem__('amountUSD', '1.00')))
case('payment-total.valid-mixed-currency', order(lambda d: (d['payment'][1]['amount'].__setitem__('currency', 'USD'),
                                                           d['payment'][1]['amount'].__setitem__('amountLocalCurrency', '1.00'))))
# 12
case('status-fields.status.valid', status)
s = dict(status); s.pop('eventTime')
case('status-fields.status.invalid', s)
